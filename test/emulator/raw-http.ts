// Sends a request exactly as given (bytes on a TCP socket, no client library normalising paths or headers) and
// reads one HTTP/1.1 response: Content-Length or chunked body, gunzipped when the server gzipped it.
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface RawResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Decoded body (gunzipped when Content-Encoding is gzip). */
  body: Buffer;
  /** Body as it came off the wire. */
  wireBody: Buffer;
}

/** One request line, headers in the given order and case, a blank line, the body. */
export function requestBytes(requestLine: string, headers: [string, string][], body = ''): string {
  return `${requestLine}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

function parse(buf: Buffer): RawResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  let wireBody: Buffer;
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let p = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', p);
      if (eol < 0) return undefined;
      const size = parseInt(rest.subarray(p, eol).toString('latin1'), 16);
      if (rest.length < eol + 2 + size + 2) return undefined;
      if (size === 0) break;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      p = eol + 2 + size + 2;
    }
    wireBody = Buffer.concat(parts);
  } else {
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < length) return undefined;
    wireBody = rest.subarray(0, length);
  }
  const body = headers['content-encoding'] === 'gzip' ? gunzipSync(wireBody) : wireBody;
  return { status, headers, body, wireBody };
}

export function rawRequest(port: number, bytes: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const res = parse(buf);
      if (res !== undefined) {
        socket.destroy();
        resolve(res);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed before a full response: ${buf.toString('latin1').slice(0, 200)}`)));
    socket.write(Buffer.from(bytes, 'latin1'));
  });
}
