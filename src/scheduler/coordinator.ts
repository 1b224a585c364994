// node-cron's runCoordinator hook, backed by the slot ledger: node-cron asks "may I run slot <name>:<time>?" before
// every firing, and the answer is "yes" on exactly one replica, the one whose INSERT of that slot won.
import type { RunCoordinator } from 'node-cron';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * The slot time in a coordinator key. node-cron builds keys as `<task name>:<slot ISO time>`; our task name is the
 * pipeline name, which may itself contain colons, so the prefix is stripped rather than the key split.
 */
export function slotFromKey(key: string, pipeline: string): Date {
  const prefix = `${pipeline}:`;
  const iso = key.startsWith(prefix) ? key.slice(prefix.length) : '';
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new Error(`node-cron coordinator key "${key}" is not "<pipeline>:<ISO time>" for pipeline "${pipeline}"`);
  }
  return new Date(time);
}

export interface SlotCoordinatorOptions {
  pipeline: string;
  logger: Logger;
  /** Claims the slot in Postgres; true when this replica won it and must run it. */
  claim(dueAt: Date): Promise<boolean>;
  /** While shutting down nothing new is claimed. */
  isStopping(): boolean;
}

/**
 * A coordinator for one pipeline's task. Fail-closed: when the claim cannot be made (warehouse unreachable), the
 * slot is not run here; the replica that did reach the database runs it, or the next slot catches up.
 */
export function createSlotCoordinator(options: SlotCoordinatorOptions): RunCoordinator {
  return {
    async shouldRun(key: string): Promise<boolean> {
      if (options.isStopping()) return false;
      try {
        return await options.claim(slotFromKey(key, options.pipeline));
      } catch (error) {
        options.logger.error(`could not claim schedule slot ${key}; not running it on this replica: ${errorMessage(error)}`);
        return false;
      }
    },
  };
}
