/**
 * Retrying AWS requests beyond the SDK's own attempts (job reports, resumed downloads): one policy type with per-caller
 * settings, one backoff formula, one classification of errors.
 *
 * The classification follows the AWS SDK's (`@smithy/service-error-classification`, the code behind the SDK's
 * standard retry mode) and adds the cases the runtime meets that it leaves out; test/runtime/retry.test.ts checks it
 * against the SDK's. It is not imported from there: that module comes only with the SDK's whole retry middleware,
 * which every handler bundle would then carry (`@aws-sdk/*` is external to a bundle, `@smithy/*` is not).
 */

/** How one caller retries. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (`Infinity`: as many as the time allows). */
  readonly maxAttempts: number;
  /** The cap of the first wait; each further wait's cap doubles. */
  readonly baseDelayMs: number;
  /** No wait is longer than this, so that a long spell of errors cannot use up a short invocation in one wait. */
  readonly maxDelayMs: number;
}

/**
 * The wait after `attempt` failed attempts: exponential, capped, with "full jitter", a random wait between zero and the
 * cap. AWS's "Exponential Backoff And Jitter" (AWS Architecture Blog) found full jitter to take the least work and
 * time of the jittered backoffs it compared (equal jitter did more), and it is the formula of the SDKs' standard retry
 * mode (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html; DefaultRetryBackoffStrategy in
 * @smithy/util-retry).
 */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.round(Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

/** The wait before the next attempt, or why there is none. */
export type NextAttempt = { readonly delayMs: number } | { readonly stop: 'attempts' | 'time' };

/**
 * The deadline-aware step of a retry loop, after `attempts` failed attempts: the wait before the next one, or `stop`
 * when the policy's attempts are used up or the wait would not end within `timeLeftMs` (the time the caller may still
 * spend; undefined: no limit).
 */
export function nextAttempt(policy: RetryPolicy, attempts: number, timeLeftMs?: number): NextAttempt {
  if (attempts >= policy.maxAttempts) return { stop: 'attempts' };
  const delayMs = backoffDelay(policy, attempts);
  if (timeLeftMs !== undefined && timeLeftMs - delayMs <= 0) return { stop: 'time' };
  return { delayMs };
}

/** Error names of throttling: the SDK's list (THROTTLING_ERROR_CODES). */
const THROTTLING_ERROR_NAMES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
/** Error names of a request that timed out: the SDK's list (TRANSIENT_ERROR_CODES). */
const TIMEOUT_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
/**
 * Node.js network errors where no answer came: the SDK's lists (NODEJS_TIMEOUT_ERROR_CODES, NODEJS_NETWORK_ERROR_CODES),
 * and ECONNABORTED, which a connection ended by the peer mid-request gives too.
 */
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

const NETWORK_ERROR_PATTERN = new RegExp(`\\b(?:${[...NETWORK_ERROR_CODES].join('|')})\\b|socket hang up|\\bTimeoutError\\b`);

/** How deep a chain of causes is followed (the SDK's own limit). */
const MAX_CAUSE_DEPTH = 10;

interface SdkErrorFields {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  readonly $fault?: unknown;
  readonly $retryable?: { readonly throttling?: unknown };
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly clockSkewCorrected?: unknown };
}

function fields(error: unknown): SdkErrorFields {
  return typeof error === 'object' && error !== null ? (error as SdkErrorFields) : {};
}

/** The error's `name` (an SDK service error's is its error code). */
export function errorName(error: unknown): string | undefined {
  const name = fields(error).name;
  return typeof name === 'string' ? name : undefined;
}

/** The HTTP status of the answer an SDK error came with; undefined when no answer came. */
export function httpStatus(error: unknown): number | undefined {
  const status = fields(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Worth another attempt: throttling, a 5xx answer, or no answer at all (a network error or a timeout). As the SDK
 * classifies it (throttling and transient errors, each with its causes), plus what it leaves out: any 5xx (the SDK's
 * list stops at 504), a `$fault: 'server'` error without a status, ECONNABORTED, and a network error seen only in a
 * message (from another realm, below).
 */
export function isRetryable(error: unknown): boolean {
  return isThrottling(error) || isTransient(error, 0);
}

function isThrottling(error: unknown): boolean {
  const f = fields(error);
  return THROTTLING_ERROR_NAMES.has(errorName(error) ?? '') || httpStatus(error) === 429 || f.$retryable?.throttling === true;
}

function isTransient(error: unknown, depth: number): boolean {
  const f = fields(error);
  const name = errorName(error) ?? '';
  // Aborted on purpose (the SDK's rule too).
  if (name === 'AbortError') return false;
  if (TIMEOUT_ERROR_NAMES.has(name) || f.$retryable !== undefined) return true;
  // A request the SDK signed again after correcting its clock, or whose signature expired on the way, passes later.
  if (f.$metadata?.clockSkewCorrected === true || (name === 'InvalidSignatureException' && typeof f.message === 'string' && f.message.includes('Signature expired'))) {
    return true;
  }
  if (typeof f.code === 'string' && NETWORK_ERROR_CODES.has(f.code)) return true;
  // An HTTP/2 stream the server refused before it did anything.
  if (f.code === 'ERR_HTTP2_STREAM_ERROR' && typeof f.message === 'string' && f.message.includes('NGHTTP2_REFUSED_STREAM')) return true;
  const status = httpStatus(error);
  if (status !== undefined ? status >= 500 : f.$fault === 'server') return true;
  // An error from another realm (a VM context, as under Jest) reaches us wrapped by the SDK ("AWS SDK error wrapper
  // for Error: connect ECONNREFUSED ..."), its code only in the message.
  if (status === undefined && typeof f.message === 'string' && NETWORK_ERROR_PATTERN.test(f.message)) return true;
  return f.cause !== undefined && f.cause !== null && depth < MAX_CAUSE_DEPTH && isTransient(f.cause, depth + 1);
}

/** An answer with a 4xx status: the request itself was refused. */
export function isClientError(error: unknown): boolean {
  const status = httpStatus(error);
  return status !== undefined ? status >= 400 && status < 500 : fields(error).$fault === 'client';
}
