// Logging for people and machines. One line per phase per pipeline in human form, or one JSON object per line
// with `--log-format json`. Every string that leaves through here passes the secret redactor first.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'human' | 'json';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields (e.g. { pipeline: 'billing' }) to every line. */
  child(fields: LogFields): Logger;
}

const secrets = new Set<string>();

/**
 * Registers a value (client secret, access token, password in a URL) that must never be printed. Values shorter
 * than 4 characters are ignored: redacting them would mangle ordinary text and they protect nothing.
 */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Query parameters whose value is a credential, whatever their case or percent-encoding (`pass%77ord`). */
const SECRET_PARAM = /pass(word)?|pwd|secret|^(access|refresh)_token$|api[_-]?key/i;

function decodeOr(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * The forms a secret can take in output: as it is, percent-encoded (in a URL), and escaped inside a JSON string
 * (a `"` or `\` in it is written `\"` or `\\` by JSON.stringify, so the plain form is not found in a JSON line).
 */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const encoded = encodeURIComponent(secret);
  return [...new Set([secret, json, encoded, JSON.stringify(encoded).slice(1, -1)])].sort((a, b) => b.length - a.length);
}

/**
 * Replaces every registered secret (in each of its forms), Bearer token, password in a URL's userinfo (any
 * scheme) and credential-named query parameter (`?password=`, `&sslpassword=`, `client_secret=`) in `text`. It
 * works on finished output: a human line, a JSON line, a printed report.
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of forms(secret)) {
      if (out.includes(form)) out = out.split(form).join('***');
    }
  }
  return out
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'\\]*:)[^@\s"'\\]+@/gi, '$1***@')
    .replace(/([?&;\s"'(,]|^)([A-Za-z0-9_.%-]+)=([^&\s"'\\#;,)?]*)/g, (all, lead: string, key: string, value: string) =>
      value !== '' && value !== '***' && SECRET_PARAM.test(decodeOr(key)) ? `${lead}${key}=***` : all,
    );
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go; defaults to stderr for warn/error and stdout otherwise. */
  write?: (line: string, level: LogLevel) => void;
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const format = options.format ?? 'human';
  const min = order[options.level ?? 'info'];
  const write =
    options.write ??
    ((line: string, level: LogLevel) => {
      (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
    });

  const emit = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    if (order[level] < min) return;
    const all = { ...bound, ...fields };
    if (format === 'json') {
      // Each string redacted before JSON.stringify escapes it, and the finished line once more.
      const clean = Object.fromEntries(Object.entries(all).map(([key, value]) => [key, typeof value === 'string' ? redact(value) : value]));
      write(redact(JSON.stringify({ time: new Date().toISOString(), level, msg: redact(message), ...clean })), level);
      return;
    }
    const prefix = all.pipeline ? `[${String(all.pipeline)}] ` : '';
    const rest = Object.entries(all)
      .filter(([key, value]) => key !== 'pipeline' && value !== undefined)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
    write(redact(`${tag}${prefix}${message}${rest ? `  (${rest})` : ''}`), level);
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (library defaults, tests that do not assert on logs). */
export const silentLogger: Logger = createLogger({ write: () => undefined });
