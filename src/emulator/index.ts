// The local Zuora stand-in: AQuA + Data Query over real HTTP, with an admin handle for tests.
export { startEmulator } from './emulator.ts';
export { runEmulatorCommand } from './cli.ts';
export { connectAdmin } from './admin.ts';
export type { RemoteEmulatorAdmin } from './admin.ts';
export type {
  BatchSummary,
  CorruptMode,
  Emulator,
  EmulatorAdmin,
  EmulatorClock,
  EmulatorOptions,
  EmulatorTiming,
  Fault,
  FaultKind,
  FaultRoute,
  JobSummary,
  RequestLogEntry,
  ZuoraReadings,
} from './types.ts';
