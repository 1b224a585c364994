// What happens after a failed run, said truthfully: "the next run resumes it" only when the next run will recover
// by itself; for a permanent failure (unknown partner, misspelled field, refused credentials) what to fix instead.
import { AquasyncError, DataError, InterruptedError, PipelineBusyError, ZuoraFileExpiredError, ZuoraJobFailedError } from '../errors.ts';

export interface FailureAdvice {
  /** automatic: the next run recovers by itself; fix: it fails the same way until someone changes something. */
  kind: 'automatic' | 'fix';
  text: string;
}

/** Pure: decides from the error's type, code and retryable flag, and whether a Zuora job was recorded. */
export function failureAdvice(error: unknown, zuoraJobId?: string): FailureAdvice {
  const job = zuoraJobId ? `job ${zuoraJobId}` : 'its recorded job';
  if (error instanceof InterruptedError) {
    return { kind: 'automatic', text: zuoraJobId ? `the next run resumes ${job}` : 'the next run starts it again' };
  }
  if (error instanceof PipelineBusyError) {
    // Not a failure of this pipeline's data: another process held its lock (a run in progress elsewhere).
    return { kind: 'automatic', text: error.hint ?? 'the next run tries again' };
  }
  if (error instanceof ZuoraFileExpiredError || error instanceof DataError) {
    return { kind: 'automatic', text: 'the job was abandoned; the next run covers the same window with a new job' };
  }
  if (error instanceof ZuoraJobFailedError) {
    if (error.status === 'aborted' || error.status === 'failed') {
      return { kind: 'fix', text: `${error.hint ?? 'fix the query named in the message'}; then run again (a new job is submitted)` };
    }
    return { kind: 'automatic', text: 'the next run submits a new job' };
  }
  if (error instanceof AquasyncError && error.retryable) {
    return {
      kind: 'automatic',
      text: `${error.hint ? `${error.hint}; ` : ''}the next run tries again${zuoraJobId ? ` and resumes ${job}` : ''}`,
    };
  }
  if (error instanceof AquasyncError) {
    return { kind: 'fix', text: `${error.hint ?? 'see the message above'}; every run fails the same way until then` };
  }
  return { kind: 'fix', text: 'an unexpected error (see the message above); please report it if it happens again' };
}
