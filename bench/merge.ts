// Not a test: stages and merges 500,000 generated rows through src/load and prints rows/s for an insert into an
// empty table, an update of every row and a re-run with unchanged data. Needs DATABASE_URL (a throw-away
// database is created next to it and dropped). Run: DATABASE_URL=postgres://... node --import tsx bench/merge.ts
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import { dropStageTables, ensureTable, mergeStaged, stageFile } from '../src/load/index.ts';
import type { TableSpec } from '../src/plan/types.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('set DATABASE_URL');

const spec: TableSpec = {
  schema: 'bench',
  table: 'account',
  object: 'Account',
  columns: [
    { header: 'Account.Id', name: 'id', type: 'text', joined: false , position: 1, overridden: false },
    { header: 'Account.Name', name: 'name', type: 'text', joined: false , position: 2, overridden: false },
    { header: 'Account.Balance', name: 'balance', type: 'numeric', joined: false , position: 3, overridden: false },
    { header: 'Account.Count', name: 'count', type: 'bigint', joined: false , position: 4, overridden: false },
    { header: 'Account.AutoPay', name: 'auto_pay', type: 'boolean', joined: false , position: 5, overridden: false },
    { header: 'Account.CreatedDate', name: 'created_date', type: 'date', joined: false , position: 6, overridden: false },
    { header: 'Account.UpdatedDate', name: 'updated_date', type: 'timestamptz', joined: false , position: 7, overridden: false },
    { header: 'BillToContact.Id', name: 'bill_to_id', type: 'text', joined: true , position: 8, overridden: false },
  ],
  primaryKey: ['id'],
  updatedColumn: 'updated_date',
  deletedHeader: 'Account.IsDeleted',
  deletedPosition: 0,
  deletes: 'soft',
};

/** ~64 KB chunks generated on demand, so the generator itself keeps memory flat. */
function generate(version: number): Readable {
  const header = `Account.IsDeleted,${spec.columns.map((c) => c.header).join(',')}\r\n`;
  let i = 0;
  let started = false;
  return new Readable({
    read() {
      if (!started) {
        started = true;
        this.push(header);
      }
      if (i >= ROWS) return void this.push(null);
      let chunk = '';
      while (chunk.length < 65_536 && i < ROWS) {
        const name = i % 97 === 0 ? `"Acme ${i}, ""v${version}"""` : `Account ${i} v${version}`;
        chunk += `false,2c92c0f8${String(i).padStart(24, '0')},${name},${i}.${version}5,${i % 1000},${i % 2 === 0},2019-03-12,2024-0${version}-01T10:15:00+0000,contact-${i % 5000}\r\n`;
        i += 1;
      }
      this.push(chunk);
    },
  });
}

const name = `aquasync_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE "${name}"`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function phase(label: string, version: number, restage: boolean, table: string): Promise<void> {
  let stageSeconds = 0;
  if (restage) {
    const started = performance.now();
    const { rows } = await stageFile(pool, { stageTable: table, columnCount: 9, csv: generate(version), fileId: table, object: 'Account' });
    stageSeconds = (performance.now() - started) / 1000;
    if (rows !== ROWS) throw new Error(`staged ${rows} rows, expected ${ROWS}`);
  }
  const client = await pool.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    await ensureTable(client, spec);
    const result = await mergeStaged(client, spec, {
      stages: [{ table, ordinal: 0, seenAt: new Date() }],
      jobId: label,
      quarantine: { pipeline: 'bench', columnCount: 9, origins: new Map() },
    });
    await client.query('COMMIT');
    const mergeSeconds = (performance.now() - started) / 1000;
    const rate = (s: number): string => `${Math.round(ROWS / s).toLocaleString('en-US')} rows/s`;
    console.log(
      `${label.padEnd(10)} stage ${stageSeconds.toFixed(2)} s (${restage ? rate(stageSeconds) : 'reused'}), ` +
        `merge ${mergeSeconds.toFixed(2)} s (${rate(mergeSeconds)}), total ${rate(stageSeconds + mergeSeconds)}; ` +
        `upserted ${result.upserted}`,
    );
  } finally {
    client.release();
  }
}

try {
  console.log(`${ROWS.toLocaleString('en-US')} rows, 9 CSV columns`);
  await phase('insert', 1, true, 's_bench_1');
  await phase('update', 2, true, 's_bench_2');
  await phase('no-change', 2, true, 's_bench_3');
  const client = await pool.connect();
  try {
    await dropStageTables(client, ['s_bench_1', 's_bench_2', 's_bench_3']);
  } finally {
    client.release();
  }
  console.log(`peak RSS ${Math.round(peakRss / 1024 / 1024)} MB`);
} finally {
  clearInterval(sampler);
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
