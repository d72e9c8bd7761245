/**
 * A fault-injecting HTTP proxy for S3 endpoints (the embedded LocalS3Server or moto), on 127.0.0.1.
 *
 * Point the SDK at the proxy (`endpoint` / AWS_ENDPOINT_URL_S3) instead of the server: every request is forwarded
 * unchanged (headers, SigV4 signature and body), except the ones a fault matches. Faults are what S3 really does to
 * clients: 500 InternalError, 503 ServiceUnavailable / SlowDown (the SDK retries them), a connection reset in the
 * middle of a body, a shortened object, slowness, and a connection that stalls (open, silent) until the client gives up.
 */
import * as http from 'http';
import { FaultQueue } from './internal/fault-queue';
import { closeServer, listen, newRequestId, type ListenOptions } from './internal/http';
import { element } from './internal/xml';

/** What a matching request gets instead of the plain forward. */
export type S3FaultKind =
  /** An S3 error response (XML); the request is never forwarded (a PUT body is read and dropped). */
  | 'error'
  /** The connection is destroyed after `afterBytes` bytes of the response body (the client saw the full Content-Length). */
  | 'reset'
  /** The connection is destroyed after `afterBytes` bytes of the request body (an upload cut short). */
  | 'reset-request'
  /** The object is served shortened to `afterBytes` bytes, with a matching Content-Length (a corrupt stored object). */
  | 'truncate'
  /** The request is forwarded after `delayMs`. */
  | 'delay'
  /**
   * The connection stalls: with `afterBytes`, the response headers and that many bytes of the body are sent, then
   * nothing more; without, the request (its body read and dropped) is never answered nor forwarded. The connection
   * stays open until the client closes it or the proxy closes.
   */
  | 'stall';

export interface S3Fault {
  readonly kind: S3FaultKind;
  /** HTTP methods the fault applies to. @default - any */
  readonly methods?: readonly string[];
  /** Only requests whose path (and query) matches. @default - any */
  readonly path?: RegExp;
  /** Only requests with (true) or without (false) a Range header. @default - either */
  readonly ranged?: boolean;
  /** How many matching requests get the fault (then it is used up). @default 1 */
  readonly times?: number;
  /** For 'error': the HTTP status. @default 503 */
  readonly status?: number;
  /** For 'error': the S3 error code. @default 'SlowDown' for 503, 'InternalError' for 500, else 'ServiceUnavailable' */
  readonly code?: string;
  /** For 'reset', 'reset-request', 'truncate' and 'stall': the bytes of the body that pass. @default 0 (for 'stall': no answer at all) */
  readonly afterBytes?: number;
  /** For 'delay'. @default 1000 */
  readonly delayMs?: number;
  /**
   * For 'delay': forward the request once this resolves, instead of after `delayMs` (a test changes the object while
   * a request waits, deterministically).
   */
  readonly until?: () => Promise<unknown>;
}

/** One request that went through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
  /** The request's If-Match header, if any. */
  readonly ifMatch?: string;
  /** The fault applied, if any. */
  readonly fault?: S3FaultKind;
}

export interface FaultProxyOptions extends ListenOptions {
  /** The S3 endpoint to forward to, e.g. `http://127.0.0.1:4566`. */
  readonly target: string;
}

const S3_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Service is unable to handle request.',
};

/** Response headers that describe the whole object: wrong once the body is shortened. */
const WHOLE_OBJECT_HEADERS = /^(content-length|content-md5|etag|x-amz-checksum-.*|x-amz-checksum-type)$/;

export class FaultProxy {
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(options.target));
    proxy._endpoint = await listen(proxy.server, options);
    return proxy;
  }

  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly faults = new FaultQueue<S3Fault>();
  private readonly log: ProxiedRequest[] = [];
  private _endpoint = '';

  private constructor(private readonly target: URL) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** `http://127.0.0.1:PORT`: give it to the SDK instead of the S3 server's endpoint. */
  get endpoint(): string {
    return this._endpoint;
  }

  /** Every request so far, oldest first. */
  get requests(): readonly ProxiedRequest[] {
    return this.log;
  }

  /** How many faults were injected so far. */
  get faultsInjected(): number {
    return this.faults.injected;
  }

  /** Adds faults; a request gets the first one (in order) that matches it and is not used up. */
  injectFaults(faults: readonly S3Fault[]): void {
    this.faults.add(faults);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Faults not used up yet (a test can check that all of them happened). */
  get pendingFaults(): number {
    return this.faults.pending;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
    this.agent.destroy();
  }

  private takeFault(req: http.IncomingMessage): S3Fault | undefined {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    return this.faults.take(
      (fault) =>
        (fault.methods === undefined || fault.methods.includes(method)) &&
        (fault.path === undefined || fault.path.test(url)) &&
        (fault.ranged === undefined || fault.ranged === (req.headers.range !== undefined)),
    );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const fault = this.takeFault(req);
    this.log.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      ...(req.headers.range !== undefined ? { range: req.headers.range } : {}),
      ...(typeof req.headers['if-match'] === 'string' ? { ifMatch: req.headers['if-match'] } : {}),
      ...(fault !== undefined ? { fault: fault.kind } : {}),
    });
    switch (fault?.kind) {
      case 'error':
        return sendS3Error(req, res, fault);
      case 'delay':
        if (fault.until !== undefined) {
          const forward = () => this.forward(req, res, undefined);
          fault.until().then(forward, forward);
        } else {
          setTimeout(() => this.forward(req, res, undefined), fault.delayMs ?? 1000);
        }
        return;
      case 'stall':
        if (fault.afterBytes === undefined) {
          req.resume(); // read and drop a body, answer nothing
          return;
        }
        return this.forward(req, res, fault);
      default:
        return this.forward(req, res, fault);
    }
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, fault: S3Fault | undefined): void {
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (response) => this.relayResponse(response, res, fault),
    );
    upstream.on('error', () => res.socket?.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (fault?.kind === 'reset-request') {
      cutAfter(req, fault.afterBytes ?? 0, (chunk) => upstream.write(chunk), () => {
        upstream.destroy();
        req.socket.destroy();
      });
      return;
    }
    req.pipe(upstream);
  }

  private relayResponse(response: http.IncomingMessage, res: http.ServerResponse, fault: S3Fault | undefined): void {
    const status = response.statusCode ?? 502;
    const headers = { ...response.headers };
    const isBody = status === 200 || status === 206;
    if (fault?.kind === 'truncate' && isBody) {
      const keep = fault.afterBytes ?? 0;
      for (const name of Object.keys(headers)) if (WHOLE_OBJECT_HEADERS.test(name)) delete headers[name];
      const declared = Number(response.headers['content-length'] ?? Number.NaN);
      headers['content-length'] = String(Number.isFinite(declared) ? Math.min(keep, declared) : keep);
      if (typeof headers['content-range'] === 'string') {
        // bytes start-end/total -> bytes start-(start+keep-1)/total
        headers['content-range'] = headers['content-range'].replace(/^bytes (\d+)-\d+/, (_, start: string) => `bytes ${start}-${Number(start) + keep - 1}`);
      }
      res.writeHead(status, headers);
      cutAfter(response, keep, (chunk) => res.write(chunk), () => {
        response.destroy();
        res.end();
      });
      return;
    }
    res.writeHead(status, headers);
    if (fault?.kind === 'stall' && isBody) {
      res.flushHeaders();
      cutAfter(response, fault.afterBytes ?? 0, (chunk) => res.write(chunk), () => response.destroy());
      return;
    }
    if (fault?.kind === 'reset' && isBody) {
      res.flushHeaders();
      cutAfter(response, fault.afterBytes ?? 0, (chunk) => res.write(chunk), () => {
        response.destroy();
        // Give the written bytes a moment to leave, then drop the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 5);
      });
      return;
    }
    response.pipe(res);
  }
}

/** Passes the first `limit` bytes of `source` to `write`, then calls `cut` once (also when the source is shorter). */
function cutAfter(source: http.IncomingMessage, limit: number, write: (chunk: Buffer) => void, cut: () => void): void {
  let passed = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    source.removeAllListeners('data');
    cut();
  };
  if (limit === 0) {
    finish();
    return;
  }
  source.on('data', (chunk: Buffer) => {
    if (done) return;
    const room = limit - passed;
    if (chunk.length >= room) {
      write(chunk.subarray(0, room));
      passed = limit;
      finish();
      return;
    }
    write(chunk);
    passed += chunk.length;
  });
  source.on('end', finish);
}

function sendS3Error(req: http.IncomingMessage, res: http.ServerResponse, fault: S3Fault): void {
  const status = fault.status ?? 503;
  const code = fault.code ?? (status === 503 ? 'SlowDown' : status === 500 ? 'InternalError' : 'ServiceUnavailable');
  const requestId = newRequestId();
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    element('Code', code) +
    element('Message', S3_ERROR_MESSAGES[code] ?? `Injected fault ${code}`) +
    element('RequestId', requestId) +
    '</Error>';
  // Read (and drop) an upload's body before answering, as S3 does; a half-sent body would otherwise be an EPIPE.
  req.resume();
  req.once('end', () => {
    const headers = { 'content-type': 'application/xml', 'x-amz-request-id': requestId };
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  });
}
