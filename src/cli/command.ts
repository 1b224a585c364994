// What every command shares: its context and the exit codes (the README's table of exit codes lists the same).
import type { LogFormat, Logger } from '../log.ts';

/**
 * 0 done; 1 a run failed (its error says what the next run does), or another run held the pipeline; 2 a usage or
 * configuration mistake; 3 `db status` of a server that is not running; 130 interrupted (Ctrl-C, SIGTERM, the
 * grace period ran out) and nothing else.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface CommandContext {
  logger: Logger;
  logFormat: LogFormat;
  /** Prints a result for people (stdout). */
  print(text: string): void;
}
