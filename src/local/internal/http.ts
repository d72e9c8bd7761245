import * as crypto from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

/** Where a local server listens: loopback only, a free port unless one is asked for. */
export interface ListenOptions {
  /** @default 0 (a free port chosen by the OS) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /**
   * Let the process exit while the server listens (and while clients keep idle connections open): for servers that
   * live as long as the process, such as runJob's shared ones. @default false
   */
  readonly unref?: boolean;
}

/**
 * Starts `server` and resolves with its `http://host:port` endpoint.
 *
 * The default host is the IP literal 127.0.0.1, not `localhost`: the AWS SDK addresses S3 path-style for an IP
 * endpoint, and `localhost` may resolve to ::1 first on some machines.
 */
export async function listen(server: http.Server, options: ListenOptions = {}): Promise<string> {
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (options.unref) {
    server.unref();
    // A request in flight keeps the process alive through its client's socket; an idle kept-alive one must not.
    server.on('connection', (socket) => socket.unref());
  }
  const { port } = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return `http://${hostInUrl}:${port}`;
}

/** Stops accepting connections and drops kept-alive ones (the SDK keeps sockets open), then resolves. */
export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** An id in the style of AWS request ids. */
export function newRequestId(): string {
  return crypto.randomBytes(8).toString('hex').toUpperCase();
}

/** A request body of at most `maxBytes`, or an error once it grows past them. */
export async function readSmallBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error(`request body larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The value of a header as one string (`undefined` when absent). */
export function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}
