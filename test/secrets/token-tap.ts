// A transparent HTTP proxy in front of the emulator that remembers every access token it sees: the ones the token
// endpoint mints (response bodies) and the ones clients send (Authorization headers). The emulator's own request log
// redacts both, so this is how a test learns the token canaries to search for.
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface TokenTap {
  url: string;
  /** Every access token minted or presented so far. */
  tokens: Set<string>;
  close(): Promise<void>;
}

function accessTokenOf(raw: Buffer, headers: IncomingHttpHeaders): string | undefined {
  try {
    const text = (headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const body = JSON.parse(text) as { access_token?: unknown };
    return typeof body.access_token === 'string' ? body.access_token : undefined;
  } catch {
    return undefined; // an error page, not a token response
  }
}

export async function startTokenTap(target: string): Promise<TokenTap> {
  const upstream = new URL(target);
  const tokens = new Set<string>();
  const server = createServer((req, res) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer?.[1]) tokens.add(bearer[1]);
    const isTokenCall = (req.url ?? '').startsWith('/oauth/token');
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (!isTokenCall) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          const raw = Buffer.concat(chunks);
          const token = accessTokenOf(raw, up.headers);
          if (token) tokens.add(token);
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(raw);
        });
        up.on('error', (error) => res.destroy(error));
      },
    );
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
