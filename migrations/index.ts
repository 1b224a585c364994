// Every migration, in order. Add new ones here: the migrator reads this list, not the folder.
import type { Migration } from 'kysely';
import * as m0001 from './0001_state.ts';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001_state': m0001,
};
