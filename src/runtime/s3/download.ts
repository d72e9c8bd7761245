/**
 * Downloading an artifact's zip, whole or by ranges. The SDK retries a request that fails before its response body
 * starts (5xx, SlowDown, throttling, network errors; standard retry mode, 3 attempts:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). It cannot retry a body that breaks off
 * midway: downloads here resume such a body with a Range request from the byte where it stopped, If-Match the ETag of
 * the first response, so that a changed object is never stitched together.
 */
import { Readable } from 'stream';
import { GetObjectCommand, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { isMissingObject, missingObjectError, objectInfo, s3Url, TransferOptions } from './client';
import type { S3ArtifactLocation } from '../../shared/event';
import { abortReason, sleep } from '../abort';
import { ArtifactTransferError } from '../errors';
import { blockCachedReader, markTransportError, RangeSource, ZipByteReader } from '../random-access';
import { errorName, httpStatus, isRetryable, nextAttempt, RetryPolicy } from '../retry';

/**
 * How a broken-off download body is resumed: at most `maxAttempts` requests in all, exponential backoff with full
 * jitter between them (https://docs.aws.amazon.com/general/latest/gr/api-retries.html; "Exponential Backoff And
 * Jitter", AWS Architecture Blog), and no new attempt when less than its delay plus `reserveMs` is left to the
 * invocation (the reserve is for reporting the failure). A request silent for `stallTimeoutMs` (no response, or no
 * byte of the body while it is read) counts as broken too: the SDK has no socket timeout by default, and a stalled
 * connection would otherwise hold the download until the function times out. (The AWS SDK for Java waits 50 s on a
 * silent socket, ClientConfiguration.DEFAULT_SOCKET_TIMEOUT; S3 sends an object's bytes without pauses.)
 */
export interface ResumePolicy extends RetryPolicy {
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
        if (this.attempts === 1 || !isRetryable(error)) throw this.attempts === 1 ? error : this.failure('S3 refused to resume it', error);
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
    const remaining = this.options.remainingTimeMs?.();
    const next = nextAttempt(RESUME_POLICY, this.attempts, remaining !== undefined ? remaining - RESUME_POLICY.reserveMs : undefined);
    if ('stop' in next) {
      throw this.failure(
        next.stop === 'attempts'
          ? `gave up after ${attemptsText(this.attempts)}`
          : `stopped after ${attemptsText(this.attempts)} with ${Math.max(0, Math.round(remaining ?? 0))} ms left to the invocation`,
        lastError,
      );
    }
    await sleep(next.delayMs, this.stop.signal);
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

function isPreconditionFailed(error: unknown): boolean {
  return httpStatus(error) === 412 || errorName(error) === 'PreconditionFailed';
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}
