// Data checks against Zuora through Data Query: per-day counts (verify) and full Id comparison with repair
// (reconcile), with results in aquasync.verifications.
export { runVerify, type DayFinding, type VerifyContext, type VerifyObjectResult, type VerifyOptions } from './verify.ts';
export { runScheduledVerification, type ScheduledVerificationOptions, type ScheduledVerificationResult } from './scheduled.ts';
export {
  runReconcile,
  type BackfillRunner,
  type ReconcileContext,
  type ReconcileObjectResult,
  type ReconcileOptions,
} from './reconcile.ts';
export {
  compareDays,
  classifyDrill,
  compareIds,
  dayWindow,
  coveringRanges,
  dailyCountQuery,
  foreignKeyColumn,
  idPageQuery,
  parseDataQueryTimestamp,
  targetFor,
  totalCountQuery,
  verifyTargets,
  type DayComparison,
  type IdComparison,
  type JoinedIdColumn,
  type VerifyTarget,
  type ZuoraIdRow,
} from './plan.ts';
