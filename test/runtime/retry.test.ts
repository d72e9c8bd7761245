/**
 * The runtime's one retry policy and classifier (src/runtime/retry.ts), held against the AWS SDK's own classification
 * (`@smithy/service-error-classification`, what the SDK's standard retry mode retries): every error the SDK retries is
 * retried, and every error retried beyond it is one of the cases the runtime documents. The error names and codes the
 * property tests draw from are read from the SDK's installed lists, so that a name the SDK adds is tested too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isThrottlingError, isTransientError } from '@smithy/service-error-classification';
import * as fc from 'fast-check';
import { backoffDelay, isRetryable, nextAttempt, RetryPolicy } from '../../src/runtime/retry';

/** The string constants of the SDK's classification lists (THROTTLING_ERROR_CODES, NODEJS_TIMEOUT_ERROR_CODES...). */
function sdkClassificationLists(): Map<string, string[]> {
  const classification = path.dirname(require.resolve('@smithy/service-error-classification'));
  const source = fs.readFileSync(require.resolve('@smithy/core/retry', { paths: [classification] }), 'utf8');
  const lists = new Map<string, string[]>();
  for (const match of source.matchAll(/const (\w+_ERROR_CODES) = \[([^\]]*)\]/g)) {
    lists.set(match[1], [...match[2].matchAll(/"([^"]+)"/g)].map((m) => m[1]));
  }
  return lists;
}

const SDK_LISTS = sdkClassificationLists();
const SDK_NAMES = [...(SDK_LISTS.get('THROTTLING_ERROR_CODES') ?? []), ...(SDK_LISTS.get('TRANSIENT_ERROR_CODES') ?? []), ...(SDK_LISTS.get('CLOCK_SKEW_ERROR_CODES') ?? [])];
const SDK_CODES = [...(SDK_LISTS.get('NODEJS_TIMEOUT_ERROR_CODES') ?? []), ...(SDK_LISTS.get('NODEJS_NETWORK_ERROR_CODES') ?? [])];

const OTHER_NAMES = ['ValidationException', 'InvalidJobStateException', 'JobNotFoundException', 'NoSuchKey', 'PreconditionFailed', 'Error', 'AbortError', 'InternalFailure'];
const OTHER_CODES = ['ECONNABORTED', 'ERR_HTTP2_STREAM_ERROR', 'EACCES', 'ERR_STREAM_PREMATURE_CLOSE'];
const MESSAGES = ['', 'Rate exceeded', 'Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z', 'connect ECONNREFUSED 127.0.0.1:9', 'socket hang up', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'];

interface ErrorShape {
  name: string;
  message: string;
  code?: string | undefined;
  status?: number | undefined;
  fault?: 'client' | 'server' | undefined;
  retryable?: { throttling: boolean } | undefined;
  clockSkewCorrected?: boolean | undefined;
}

/** A field present half of the time, so that most errors carry only one or two retryable traits, or none. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 2 });
}

const shape: fc.Arbitrary<ErrorShape> = fc.record({
  name: fc.constantFrom(...SDK_NAMES, ...OTHER_NAMES),
  message: fc.constantFrom(...MESSAGES),
  code: sometimes(fc.constantFrom(...SDK_CODES, ...OTHER_CODES)),
  status: sometimes(fc.oneof(fc.constantFrom(400, 403, 404, 412, 429, 500, 501, 502, 503, 504, 505, 599), fc.integer({ min: 200, max: 599 }))),
  fault: sometimes(fc.constantFrom('client' as const, 'server' as const)),
  retryable: sometimes(fc.record({ throttling: fc.boolean() })),
  clockSkewCorrected: sometimes(fc.boolean()),
});

/** An SDK-like error: name, message, code, `$fault`, `$retryable`, `$metadata`, and an error it wraps. */
function sdkError(s: ErrorShape, cause?: Error): Error {
  const metadata = {
    ...(s.status !== undefined ? { httpStatusCode: s.status } : {}),
    ...(s.clockSkewCorrected !== undefined ? { clockSkewCorrected: s.clockSkewCorrected } : {}),
  };
  const error = Object.assign(new Error(s.message), {
    name: s.name,
    $metadata: metadata,
    ...(s.code !== undefined ? { code: s.code } : {}),
    ...(s.fault !== undefined ? { $fault: s.fault } : {}),
    ...(s.retryable !== undefined ? { $retryable: s.retryable } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
  return error;
}

/** An error, possibly wrapping one or two others. */
const anError: fc.Arbitrary<Error> = fc
  .tuple(shape, fc.option(shape, { nil: undefined }), fc.option(shape, { nil: undefined }))
  .map(([outer, middle, inner]) => {
    const innermost = inner !== undefined ? sdkError(inner) : undefined;
    const wrapped = middle !== undefined ? sdkError(middle, innermost) : innermost;
    return sdkError(outer, wrapped);
  });

function sdkRetries(error: Error): boolean {
  return isThrottlingError(error as never) || isTransientError(error as never);
}

/** What the runtime retries beyond the SDK, as retry.ts documents it (in the error or one it wraps). */
function documentedExtra(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown; $fault?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'AbortError') return false;
  const status = e.$metadata?.httpStatusCode;
  const itself =
    (status !== undefined && status >= 500) ||
    (status === undefined && e.$fault === 'server') ||
    e.code === 'ECONNABORTED' ||
    (status === undefined && /ECONN|socket hang up|TimeoutError|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UNREACH/.test(e.message ?? ''));
  return itself || (e.cause !== undefined && documentedExtra(e.cause));
}

describe('the error classifier', () => {
  test('the SDK lists it is checked against were found in the installed SDK', () => {
    expect(SDK_NAMES).toEqual(expect.arrayContaining(['ThrottlingException', 'SlowDown', 'TimeoutError']));
    expect(SDK_CODES).toEqual(expect.arrayContaining(['ECONNRESET', 'ECONNREFUSED']));
  });

  test('every error the SDK retries (throttling or transient) is retried by the runtime', () => {
    fc.assert(
      fc.property(anError, (error) => {
        if (sdkRetries(error)) expect(isRetryable(error)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('an error the runtime retries beyond the SDK is one of the documented extra cases', () => {
    fc.assert(
      fc.property(anError, (error) => {
        if (isRetryable(error) && !sdkRetries(error)) expect(documentedExtra(error)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('each name of the SDK throttling list is retried whatever the status', () => {
    for (const name of SDK_LISTS.get('THROTTLING_ERROR_CODES') ?? []) {
      expect(isRetryable(sdkError({ name, message: 'slow down', status: 400 }))).toBe(true);
    }
  });

  test('a 4xx answer of a client error (validation, a finished job, a missing key) is not retried', () => {
    for (const name of ['ValidationException', 'InvalidJobStateException', 'NoSuchKey', 'AccessDeniedException']) {
      expect(isRetryable(sdkError({ name, message: 'refused', status: 400, fault: 'client' }))).toBe(false);
    }
  });

  test('a 501 and a 599 are retried, beyond the SDK, which retries 500, 502, 503 and 504 by status', () => {
    expect(isRetryable(sdkError({ name: 'NotImplemented', message: '', status: 501 }))).toBe(true);
    expect(isRetryable(sdkError({ name: 'Unknown', message: '', status: 599 }))).toBe(true);
    expect(sdkRetries(sdkError({ name: 'NotImplemented', message: '', status: 501 }))).toBe(false);
  });

  test('a network error seen only in the message of an error from another realm is retried', () => {
    expect(isRetryable(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9'))).toBe(true);
  });

  test('an AbortError is not retried, even with a network code', () => {
    expect(isRetryable(sdkError({ name: 'AbortError', message: 'Request aborted', code: 'ECONNRESET' }))).toBe(false);
  });

  test('a plain error without an answer or a network code is not retried', () => {
    expect(isRetryable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isRetryable('a string')).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});

describe('the backoff', () => {
  const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2_000 };

  test('each wait is between zero and the capped exponential step (full jitter)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), (attempt) => {
        const delay = backoffDelay(policy, attempt);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
      }),
    );
  });

  test('no further attempt once the policy attempts are used up', () => {
    expect(nextAttempt(policy, 5)).toEqual({ stop: 'attempts' });
  });

  test('no further attempt when its wait would not end within the time left', () => {
    expect(nextAttempt(policy, 1, 0)).toEqual({ stop: 'time' });
    expect(nextAttempt({ ...policy, baseDelayMs: 0 }, 1, 1)).toEqual({ delayMs: 0 });
  });

  test('a policy without an attempt limit retries for as long as the time allows', () => {
    expect(nextAttempt({ ...policy, maxAttempts: Number.POSITIVE_INFINITY }, 1_000, 10_000)).toHaveProperty('delayMs');
  });
});
