// The emulator behind `baseUrl: emulator`: started in-process for the zero-setup quick start. Its sessions, clock
// and data changes persist in a state file under AQUASYNC_HOME, and every later start simulates a little billing
// activity, so a second `npm start` is a real incremental load with updates, inserts and a deletion.
import { existsSync } from 'node:fs';
import { startEmulator, type Emulator } from '../emulator/index.ts';

const BUILT_IN = { seed: 1, rows: 5000 } as const;

export async function startBuiltInEmulator(statePath: string): Promise<Emulator> {
  const resumed = existsSync(statePath);
  const emulator = await startEmulator({
    ...BUILT_IN,
    statePath,
    timing: { queuedMs: 100, executingMs: 400 },
  });
  if (resumed) simulateActivity(emulator);
  return emulator;
}

function simulateActivity(emulator: Emulator): void {
  const { admin } = emulator;
  const tick = Math.floor(admin.clock.now() / 1000);
  const pick = <T>(items: T[], n: number): T[] => items.filter((_, i) => (i + tick) % Math.max(1, Math.floor(items.length / n)) === 0).slice(0, n);

  const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined);
  for (const account of pick(accounts, 3)) {
    admin.update('Account', String(account.values.Id), { Balance: `${(tick % 9000) + 100}.25` });
  }
  const items = admin.rows('InvoiceItem').filter((r) => r.deletedAt === undefined);
  for (const item of pick(items, 5)) {
    admin.update('InvoiceItem', String(item.values.Id), { ChargeAmount: `${tick % 500}.5` });
  }
  const payments = admin.rows('Payment').filter((r) => r.deletedAt === undefined);
  const gone = pick(payments, 1)[0];
  if (gone) admin.remove('Payment', String(gone.values.Id));
  const owner = accounts[tick % Math.max(1, accounts.length)];
  admin.insert('Contact', {
    FirstName: 'Ada',
    LastName: `Lovelace ${tick}`,
    WorkEmail: `ada.${tick}@example.com`,
    AccountId: owner ? String(owner.values.Id) : null,
  });
}
