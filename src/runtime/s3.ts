/**
 * S3 access for artifacts, with the temporary credentials CodePipeline puts in the event (`artifactCredentials`: the
 * pipeline's action role, so the function's own role needs no S3 access; aws-cdk #3274).
 *
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, config files): the code that
 * runs on Lambda is the code that runs against local servers.
 *
 * The SDK retries a request that fails before its response body starts (5xx, SlowDown, throttling, network errors;
 * standard retry mode, 3 attempts: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). It
 * cannot retry a body that breaks off midway: downloads here resume such a body with a Range request from the byte
 * where it stopped, If-Match the ETag of the first response, so that a changed object is never stitched together.
 */
import { Readable } from 'stream';
import { AbortMultipartUploadCommand, GetObjectCommand, GetObjectCommandOutput, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { abortReason, sleep } from './abort';
import { ArtifactTransferError } from './errors';
import { blockCachedReader, markTransportError, RangeSource, ZipByteReader } from './random-access';
import type { ArtifactCredentials, EncryptionKey, S3ArtifactLocation } from '../shared/event';

// Loaded on first use: handlers that never upload (or never read one file) do not pay for these at cold start.
function libStorage(): typeof import('@aws-sdk/lib-storage') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/lib-storage');
}


/** Builds the S3 client for a job's artifacts. Replace it through `jobHandler({ s3Client })` for advanced setups. */
export type S3ClientFactory = (credentials: ArtifactCredentials) => S3Client;

export const defaultS3ClientFactory: S3ClientFactory = (credentials) =>
  new S3Client({
    // A plain copy: the SDK tags the credentials object it is given, and the event's copy hides its secrets.
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}),
      ...(credentials.expirationTime !== undefined ? { expiration: new Date(credentials.expirationTime) } : {}),
    },
  });

/** What a transfer needs besides the client and the object. */
export interface TransferOptions {
  /** The artifact, for messages: e.g. `input artifact 'Source'`. */
  readonly what: string;
  /** Stops the transfer (and every request of it) when it fires; nothing is retried after that. */
  readonly signal?: AbortSignal;
  /** Milliseconds left to the invocation: a resume that cannot finish in time is not started. */
  readonly remainingTimeMs?: () => number;
  /**
   * A download that receives nothing for this long (no response, or no byte of the body) counts as broken and is
   * resumed.
   *
   * @default RESUME_POLICY.stallTimeoutMs
   */
  readonly stallTimeoutMs?: number;
}

/**
 * How a broken-off download body is resumed: at most `maxAttempts` requests in all, exponential backoff with full
 * jitter between them (https://docs.aws.amazon.com/general/latest/gr/api-retries.html; "Exponential Backoff And
 * Jitter", AWS Architecture Blog), and no new attempt when less than its delay plus `reserveMs` is left to the
 * invocation (the reserve is for reporting the failure). A request silent for `stallTimeoutMs` (no response, or no
 * byte of the body while it is read) counts as broken too: the SDK has no socket timeout by default, and a stalled
 * connection would otherwise hold the download until the function times out. (The AWS SDK for Java waits 50 s on a
 * silent socket, ClientConfiguration.DEFAULT_SOCKET_TIMEOUT; S3 sends an object's bytes without pauses.)
 */
export interface ResumePolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly reserveMs: number;
  readonly stallTimeoutMs: number;
}

export const RESUME_POLICY: ResumePolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  reserveMs: 3_000,
  stallTimeoutMs: 30_000,
});

/** `s3://bucket/key`, as artifacts are named in messages. */
export function s3Url(location: S3ArtifactLocation): string {
  return `s3://${location.bucketName}/${location.objectKey}`;
}

/** Sends a command with the signal; once the signal has fired, the failure is its reason. */
async function sendAbortable<T>(signal: AbortSignal | undefined, send: (options: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
  try {
    return await send(signal !== undefined ? { abortSignal: signal } : {});
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    throw error;
  }
}

/**
 * The zip of an artifact (or bytes [start, end) of it) as a stream that resumes a broken-off body; see
 * ResumingObjectStream.
 */
export function getObjectStream(
  client: S3Client,
  location: S3ArtifactLocation,
  options: TransferOptions & { readonly start?: number; readonly end?: number; readonly etag?: string },
): Readable {
  return new ResumingObjectStream(client, location, options);
}

/** The size and ETag of an artifact's zip (a HEAD request). */
export async function objectInfo(client: S3Client, location: S3ArtifactLocation, options: TransferOptions): Promise<{ size: number; etag?: string }> {
  const command = new HeadObjectCommand({ Bucket: location.bucketName, Key: location.objectKey });
  let head;
  try {
    head = await sendAbortable(options.signal, (o) => client.send(command, o));
  } catch (error) {
    throw isMissingObject(error) ? missingObjectError(options.what, location, error) : error;
  }
  if (typeof head.ContentLength !== 'number') {
    throw new Error(`S3 returned no size for ${s3Url(location)}`);
  }
  return { size: head.ContentLength, ...(head.ETag !== undefined ? { etag: head.ETag } : {}) };
}

export async function objectSize(client: S3Client, location: S3ArtifactLocation, options: TransferOptions): Promise<number> {
  return (await objectInfo(client, location, options)).size;
}

/**
 * Streams `body` to S3 as the artifact's zip. Uses multipart upload (lib-storage) so that memory stays bounded
 * whatever the size; SSE-KMS with the pipeline's key when the event carries an `encryptionKey` (job worker docs).
 * The signal aborts the upload (lib-storage then aborts the multipart upload, so no object appears).
 */
export async function uploadObject(
  client: S3Client,
  location: S3ArtifactLocation,
  body: Readable,
  encryptionKey: EncryptionKey | undefined,
  options: TransferOptions,
): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);
  const { Upload } = libStorage();
  const abortController = new AbortController();
  const upload = new Upload({
    client: signal !== undefined ? withAbortSignal(client, signal) : client,
    params: {
      Bucket: location.bucketName,
      Key: location.objectKey,
      Body: body,
      ContentType: 'application/zip',
      ...(encryptionKey !== undefined ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryptionKey.id } : {}),
    },
    // Two parts in flight, of S3's minimum size (5 MiB; up to 10,000 parts = 48 GiB): memory stays bounded (design
    // target: 150 MB peak for a 200 MB artifact) with enough throughput.
    queueSize: 2,
    partSize: 5 * 1024 * 1024,
    abortController,
  });
  const onAbort = () => abortController.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await upload.done();
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The client as lib-storage sees it: every request it sends carries the signal (an in-flight part stops at once), except
 * AbortMultipartUpload, the clean-up lib-storage sends after an abort so that no parts are left behind.
 */
function withAbortSignal(client: S3Client, signal: AbortSignal): S3Client {
  type Send = (command: unknown, options?: object) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      const send = target.send.bind(target) as Send;
      return (command: unknown, options?: object) =>
        command instanceof AbortMultipartUploadCommand ? send(command, options) : send(command, { ...options, abortSignal: signal });
    },
  });
}

/**
 * A random-access zip reader over an S3 object, with HTTP Range requests: reading one file of a 200 MB artifact
 * costs a few small requests instead of the whole download. Blocks of 256 KiB cover a whole central directory in most
 * zips with one request. Every read is If-Match the ETag of the first HEAD: a zip replaced between reading its
 * directory and an entry fails clearly instead of mixing two archives.
 */
export async function s3RandomAccessReader(
  client: S3Client,
  location: S3ArtifactLocation,
  options: TransferOptions,
): Promise<{ reader: ZipByteReader; size: number }> {
  const { size, etag } = await objectInfo(client, location, options);
  const ranged = (start: number, end: number) =>
    getObjectStream(client, location, { ...options, start, end, ...(etag !== undefined ? { etag } : {}) });
  const source: RangeSource = {
    size,
    readRange: async (start, end) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of ranged(start, end)) chunks.push(chunk as Buffer);
      } catch (error) {
        throw markTransportError(error);
      }
      return Buffer.concat(chunks);
    },
    streamRange: (start, end) => ranged(start, end),
    close: async () => undefined,
  };
  return { reader: blockCachedReader(source, { blockBytes: 256 * 1024, cachedBlocks: 8 }), size };
}

/**
 * An S3 object's bytes (or a range of them) as a stream. When the body breaks off (a reset, a premature close, fewer
 * bytes than its Content-Length), the download goes on with `Range: bytes=<next byte>-` If-Match the first ETag, within
 * RESUME_POLICY. Errors end the stream: the S3 error of the first request as the SDK reports it, an
 * ArtifactTransferError once resuming fails or the object changed, the signal's reason when it fires.
 */
class ResumingObjectStream extends Readable {
  /** Bytes pushed so far (from `start`). */
  private received = 0;
  /** Bytes this stream must deliver, once known. */
  private expected: number | undefined;
  private etag: string | undefined;
  private body: Readable | undefined;
  private started = false;
  private attempts = 0;
  /** Restarts the stall timer of the body being read (after a pause for the reader). */
  private rearmStall: (() => void) | undefined;
  /** Fires when the stream is destroyed (by its reader, an error or the caller's signal): stops requests and waits. */
  private readonly stop = new AbortController();
  private readonly onCallerAbort: () => void;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3ArtifactLocation,
    private readonly options: TransferOptions & { readonly start?: number; readonly end?: number; readonly etag?: string },
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.etag = options.etag;
    if (options.end !== undefined) this.expected = Math.max(0, options.end - (options.start ?? 0));
    this.onCallerAbort = () => this.destroy(abortReason(options.signal!));
    options.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  _read(): void {
    if (!this.started) {
      this.started = true;
      this.download().then(
        () => {
          if (!this.destroyed) this.push(null);
        },
        (error: Error) => {
          if (!this.destroyed) this.destroy(error);
        },
      );
      return;
    }
    if (this.body !== undefined) {
      this.body.resume();
      this.rearmStall?.();
    }
  }

  _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.options.signal?.removeEventListener('abort', this.onCallerAbort);
    this.stop.abort();
    this.body?.destroy();
    if (error !== null) markTransportError(error);
    callback(error);
  }

  private async download(): Promise<void> {
    const { signal } = this.options;
    if (signal?.aborted) throw abortReason(signal);
    let lastError: unknown;
    for (;;) {
      if (this.expected !== undefined && this.received >= this.expected) return;
      if (this.attempts > 0) await this.beforeResuming(lastError);
      this.attempts++;
      let response: GetObjectCommandOutput;
      const stalled = this.stallTimer();
      try {
        response = await this.client.send(this.request(), { abortSignal: stalled.signal });
      } catch (error) {
        if (this.destroyed) return;
        if (stalled.fired()) {
          lastError = new Error(`no response within ${this.stallTimeoutMs} ms`);
          continue;
        }
        if (isPreconditionFailed(error)) throw this.changed(error);
        if (isMissingObject(error)) throw missingObjectError(this.options.what, this.location, error);
        // The SDK has retried the first request already; a resume's request failing for a transient reason is one
        // more broken attempt.
        if (this.attempts === 1 || !isTransient(error)) throw this.attempts === 1 ? error : this.failure('S3 refused to resume it', error);
        lastError = error;
        continue;
      } finally {
        stalled.clear();
      }
      try {
        await this.pump(response);
        return;
      } catch (error) {
        if (this.destroyed) return;
        lastError = error;
      }
    }
  }

  private get stallTimeoutMs(): number {
    return this.options.stallTimeoutMs ?? RESUME_POLICY.stallTimeoutMs;
  }

  /** A signal for one request: fires when the stream stops, or when no response came within the stall timeout. */
  private stallTimer(): { signal: AbortSignal; fired(): boolean; clear(): void } {
    const controller = new AbortController();
    let fired = false;
    const onStop = () => controller.abort(this.stop.signal.reason);
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => {
      fired = true;
      controller.abort(new Error('stalled'));
    }, this.stallTimeoutMs);
    return {
      signal: controller.signal,
      fired: () => fired,
      clear: () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', onStop);
      },
    };
  }

  private request(): GetObjectCommand {
    const start = (this.options.start ?? 0) + this.received;
    const end = this.options.end;
    const whole = start === 0 && end === undefined;
    return new GetObjectCommand({
      Bucket: this.location.bucketName,
      Key: this.location.objectKey,
      ...(whole ? {} : { Range: `bytes=${start}-${end !== undefined ? end - 1 : ''}` }),
      ...(this.etag !== undefined ? { IfMatch: this.etag } : {}),
    });
  }

  /** Pushes the response body; resolves at its end, rejects when it breaks off or ends short of its Content-Length. */
  private pump(response: GetObjectCommandOutput): Promise<void> {
    const body = response.Body;
    if (!(body instanceof Readable)) {
      return Promise.reject(new Error(`S3 returned no readable body for ${s3Url(this.location)}`));
    }
    if (this.destroyed) {
      body.destroy(); // destroyed while the response was on its way
      return Promise.resolve();
    }
    this.etag ??= response.ETag;
    const declared = response.ContentLength;
    if (this.expected === undefined && typeof declared === 'number') this.expected = this.received + declared;
    return new Promise<void>((resolve, reject) => {
      let got = 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => settle(new Error(`no data for ${this.stallTimeoutMs} ms after ${got} bytes of the body`)), this.stallTimeoutMs);
      };
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.body = undefined;
        this.rearmStall = undefined;
        if (error !== undefined) {
          body.destroy();
          reject(error);
        } else {
          resolve();
        }
      };
      this.body = body;
      this.rearmStall = arm;
      arm();
      body.on('data', (chunk: Buffer) => {
        got += chunk.length;
        this.received += chunk.length;
        if (this.push(chunk)) {
          arm();
        } else {
          // The reader's pace, not the connection's: no stall timer until it asks for more.
          clearTimeout(timer);
          body.pause();
        }
      });
      body.once('end', () =>
        settle(typeof declared === 'number' && got < declared ? new Error(`the body ended after ${got} of its ${declared} bytes`) : undefined),
      );
      body.once('error', (error: Error) => settle(error));
      body.once('close', () => settle(new Error(`the connection closed after ${got} bytes of the body`)));
    });
  }

  /** Waits before the next attempt, or throws when there is none left (attempts, time). */
  private async beforeResuming(lastError: unknown): Promise<void> {
    const { maxAttempts, baseDelayMs, maxDelayMs, reserveMs } = RESUME_POLICY;
    if (this.attempts >= maxAttempts) throw this.failure(`gave up after ${attemptsText(this.attempts)}`, lastError);
    const delay = Math.round(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (this.attempts - 1)));
    const remaining = this.options.remainingTimeMs?.();
    if (remaining !== undefined && remaining < delay + reserveMs) {
      throw this.failure(`stopped after ${attemptsText(this.attempts)} with ${Math.max(0, Math.round(remaining))} ms left to the invocation`, lastError);
    }
    await sleep(delay, this.stop.signal);
  }

  private describe(): string {
    const { start, end } = this.options;
    const range = start !== undefined || end !== undefined ? ` bytes ${start ?? 0}-${end !== undefined ? end - 1 : ''} of` : '';
    return `${this.options.what} (${range.trimStart()}${range !== '' ? ' ' : ''}${s3Url(this.location)})`;
  }

  private failure(why: string, cause: unknown): ArtifactTransferError {
    const total = this.expected !== undefined ? String(this.expected) : 'an unknown number of';
    return new ArtifactTransferError(
      `Could not download ${this.describe()}: ${why}; ${this.received} of ${total} bytes received; last error: ${messageOf(cause)}`,
      this.received,
      this.expected,
      this.attempts,
      cause,
    );
  }

  private changed(cause: unknown): ArtifactTransferError {
    return new ArtifactTransferError(
      `Could not download ${this.describe()}: the artifact changed while it was being downloaded ` +
        `(S3 answered 412 PreconditionFailed to If-Match ${this.etag ?? '?'} after ${this.received} bytes)`,
      this.received,
      this.expected,
      this.attempts,
      cause,
    );
  }
}

/**
 * S3's "no such object" in both forms: GetObject's `NoSuchKey`/`NoSuchBucket` body, and HeadObject's bare 404, which
 * has no body and so reaches the SDK as `NotFound` with the message `UnknownError`.
 */
function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || statusOf(error) === 404;
}

/** A missing artifact object, named by its artifact, bucket and key instead of S3's `NotFound: UnknownError`. */
function missingObjectError(what: string, location: S3ArtifactLocation, cause: unknown): ArtifactTransferError {
  const name = (cause as { name?: unknown } | undefined)?.name;
  return new ArtifactTransferError(
    `Could not download ${what}: ${s3Url(location)} does not exist (S3 answered 404${typeof name === 'string' ? ` ${name}` : ''}). ` +
      'The object may have been deleted or expired by a lifecycle rule, or the event names another bucket or key.',
    0,
    undefined,
    1,
    cause,
  );
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isPreconditionFailed(error: unknown): boolean {
  return statusOf(error) === 412 || (error as { name?: string } | undefined)?.name === 'PreconditionFailed';
}

/** No HTTP answer (a network error) or a 5xx: worth another attempt. */
function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  return status === undefined || status >= 500;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}
