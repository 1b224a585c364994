// src/scheduler: runs pipelines on their cron schedules, each slot exactly once across replicas (a slot ledger with
// leases in Postgres), with graceful shutdown and /healthz + /metrics.
export { Scheduler, defaultReplicaId, verifySlotName } from './scheduler.ts';
export { startStatusServer, type StatusServer, type StatusServerOptions } from './http.ts';
export { renderMetrics, escapeLabel, formatValue, emptyCounters, METRICS_CONTENT_TYPE } from './metrics.ts';
export { slotFromKey, createSlotCoordinator, type SlotCoordinatorOptions } from './coordinator.ts';
export { listSlots, claimCronSlot, type CronClaim } from './slots.ts';
export type * from './types.ts';
