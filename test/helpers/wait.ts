// The one polling helper of the test suite: waits for a probe to return a value, with a generous deadline, and
// says what it waited for (and, when given, what the process under test printed) when the deadline passes.

export interface WaitOptions {
  /** Give up after this long (default 30 s: generous, as tests run on a loaded 2-CPU machine). */
  timeoutMs?: number;
  /** Pause between probes. */
  intervalMs?: number;
  /** Extra text for the timeout error (a child's output, say). */
  context?: () => string;
  /** Stop waiting early, with an error saying so, once this is true (the process under test exited). */
  abandon?: () => boolean;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, context, abandon } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (abandon?.()) throw new Error(`gave up waiting for ${what}: the process under test is gone${context ? `\n${context()}` : ''}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
