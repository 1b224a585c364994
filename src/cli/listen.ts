// --host of the commands that listen (schedule --port, ui): loopback unless the user opens it up, because the
// status page, /metrics and /healthz describe the warehouse to whoever can reach them.
import { ConfigError } from '../errors.ts';

export const DEFAULT_LISTEN_HOST = '127.0.0.1';

/** --host: an address to listen on (127.0.0.1, ::1, 0.0.0.0, a host name); 127.0.0.1 when not given. */
export function parseHost(value: unknown): string {
  if (value === undefined) return DEFAULT_LISTEN_HOST;
  if (typeof value !== 'string' || !/^[A-Za-z0-9.:_-]+$/.test(value)) {
    throw new ConfigError(`--host must be an address or host name to listen on, not "${String(value)}"`, {
      hint: 'e.g. --host 127.0.0.1 (this machine only, the default) or --host 0.0.0.0 (every interface)',
    });
  }
  return value;
}
