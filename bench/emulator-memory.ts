// Memory check of the emulator's lazy file rendering: a child process serves a 2,000,000-row InvoiceItem tenant,
// we export it statelessly as gzip and csv, stream both downloads, and report the child's peak RSS (VmHWM).
// Run: node --import tsx bench/emulator-memory.ts [rows]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD_FLAG = '--child';

if (process.argv.includes(CHILD_FLAG)) {
  const { runEmulatorCommand } = await import('../src/emulator/cli.ts');
  const rows = process.argv[process.argv.indexOf(CHILD_FLAG) + 1] ?? '2000000';
  process.exitCode = await runEmulatorCommand(['--rows', rows]);
} else {
  await main(process.argv[2] ?? '2000000');
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 'NaN');
  return Math.round(kb / 1024);
}

async function main(rows: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, rows], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<{ url: string; id: string; secret: string }>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const url = /listening on (\S+)/.exec(out)?.[1];
      const id = /client id:\s+(\S+)/.exec(out)?.[1];
      const secret = /client secret:\s+(\S+)/.exec(out)?.[1];
      if (url !== undefined && id !== undefined && secret !== undefined) resolve({ url, id, secret });
    });
    child.once('exit', (code) => reject(new Error(`emulator child exited early with ${String(code)}`)));
  });
  try {
    const { url, id, secret } = await ready;
    console.log(`child ${child.pid} up at ${url}; RSS peak so far ${peakRssMb(child.pid!)} MB`);
    const tokenRes = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: id, client_secret: secret, grant_type: 'client_credentials' }),
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    for (const format of ['gzip', 'csv']) {
      const began = Date.now();
      const submitted = (await (
        await fetch(`${url}/v1/batch-query/`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            format,
            version: '1.0',
            name: 'bench',
            useQueryLabels: true,
            dateTimeUtc: true,
            queries: [{ name: 'InvoiceItem', type: 'zoqlexport', query: 'select * from InvoiceItem' }],
          }),
        })
      ).json()) as { id: string };
      let job: { status: string; batches: { fileId: string; recordCount: number }[] };
      for (;;) {
        job = (await (await fetch(`${url}/v1/batch-query/jobs/${submitted.id}`, { headers })).json()) as typeof job;
        if (!['submitted', 'executing'].includes(job.status)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const batch = job.batches[0]!;
      const res = await fetch(`${url}/v1/files/${batch.fileId}`, { headers });
      let bytes = 0;
      for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
      console.log(
        `${format}: ${job.status}, recordCount ${batch.recordCount}, ${(bytes / 1e6).toFixed(1)} MB downloaded in ` +
          `${((Date.now() - began) / 1000).toFixed(1)} s; child peak RSS ${peakRssMb(child.pid!)} MB`,
      );
    }
    console.log(`peak RSS of the emulator process (VmHWM): ${peakRssMb(child.pid!)} MB`);
  } finally {
    child.kill('SIGTERM');
  }
}
