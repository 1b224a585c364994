// Every migration, in order. Add new ones here: the migrator reads this list, not the folder.
import type { Migration } from 'kysely';
import * as m0001 from './0001_state.ts';
import * as m0002 from './0002_scheduler.ts';
import * as m0003 from './0003_backfill.ts';
import * as m0004 from './0004_verify.ts';
import * as m0005 from './0005_never_lose_a_row.ts';
import * as m0006 from './0006_verify_pending.ts';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001_state': m0001,
  '0002_scheduler': m0002,
  '0003_backfill': m0003,
  '0004_verify': m0004,
  '0005_never_lose_a_row': m0005,
  '0006_verify_pending': m0006,
};
