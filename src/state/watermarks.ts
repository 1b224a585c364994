// Watermarks: how far each pipeline has loaded. Moved only by applyJob, in the transaction that loads the rows.
import type { Kysely } from 'kysely';
import type { StateDatabase } from '../db/index.ts';

export async function getWatermark(db: Kysely<StateDatabase>, pipeline: string): Promise<Date | undefined> {
  const row = await db.selectFrom('aquasync.watermarks').select('watermark').where('pipeline', '=', pipeline).executeTakeFirst();
  return row?.watermark;
}
