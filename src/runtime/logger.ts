/**
 * Structured logging for job handlers: one JSON object per line, with the job id as `correlationId`, and never a
 * credential (the event carries live ones: AWS docs, "never log the event").
 */

/** Extra fields of one log line. */
export type LogAttributes = { readonly [key: string]: unknown };

/**
 * What the runtime needs from a logger. Powertools for AWS Lambda's `Logger` fits as it is, and so does `console`
 * (both take a message followed by objects to merge or print).
 */
export interface Logger {
  debug(message: string, ...attributes: LogAttributes[]): void;
  info(message: string, ...attributes: LogAttributes[]): void;
  warn(message: string, ...attributes: LogAttributes[]): void;
  error(message: string, ...attributes: LogAttributes[]): void;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const LEVEL_ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export interface JsonLoggerOptions {
  /**
   * The lowest level written.
   *
   * @default the environment's POWERTOOLS_LOG_LEVEL, LOG_LEVEL or AWS_LAMBDA_LOG_LEVEL, else 'INFO'
   */
  readonly level?: LogLevel;
  /**
   * Where lines go.
   *
   * @default process.stdout (without the prefix Lambda adds to console.log in text log format)
   */
  readonly write?: (line: string) => void;
  /** Fields written on every line. */
  readonly attributes?: LogAttributes;
}

/** A logger writing one JSON object per line: `{ timestamp, level, message, ...attributes }`. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? levelFromEnvironment()];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const base = options.attributes ?? {};
  const log = (level: LogLevel) => (message: string, ...attributes: LogAttributes[]) => {
    if (LEVEL_ORDER[level] < threshold) {
      return;
    }
    let entry: LogAttributes;
    try {
      entry = Object.assign({ timestamp: new Date().toISOString(), level, message }, base, ...attributes);
    } catch (error) {
      // A getter of the caller's attributes threw: the line still goes out, without them.
      entry = { timestamp: new Date().toISOString(), level, message, attributes: describeUnserializable(attributes), reason: messageOf(error) };
    }
    write(`${safeJson(entry)}\n`);
  };
  return { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') };
}

/** A logger that adds `attributes` (e.g. the correlation id) to every line of `base`. */
export function withAttributes(base: Logger, attributes: LogAttributes): Logger {
  const log = (method: keyof Logger) => (message: string, ...more: LogAttributes[]) =>
    base[method](message, Object.assign({}, attributes, ...more.map(redactForLog)));
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function levelFromEnvironment(): LogLevel {
  const value = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase();
  if (value === 'TRACE') return 'DEBUG';
  if (value === 'FATAL' || value === 'CRITICAL') return 'ERROR';
  return value in LEVEL_ORDER ? (value as LogLevel) : 'INFO';
}

/**
 * Keys whose values are never logged, wherever they appear (raw events, SDK inputs, `process.env`, HTTP headers, user
 * objects). Compared case-insensitively with `-`, `_` and `.` removed, so `SecretAccessKey`, `secret_access_key`,
 * `AWS_SECRET_ACCESS_KEY` and `aws.secretAccessKey` are one key. The spellings are those of the AWS SDKs' credential
 * providers and of the Lambda environment (AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN), plus SigV4's
 * `X-Amz-Security-Token` / `X-Amz-Signature` and `Authorization`-style headers.
 */
const SECRET_KEYS = new Set([
  'secretaccesskey',
  'awssecretaccesskey',
  'secretkey',
  'awssecretkey',
  'sessiontoken',
  'awssessiontoken',
  'securitytoken',
  'awssecuritytoken',
  'xamzsecuritytoken',
  'xamzsignature',
  'authorization',
  'proxyauthorization',
  'awscontainerauthorizationtoken',
]);
const REDACTED = '[redacted]';

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.replace(/[-_.]/g, '').toLowerCase());
}

/** Credentials inside text: presigned-URL query parameters and SigV4 `Authorization` header values. */
const SECRET_IN_TEXT = /(X-Amz-(?:Security-Token|Signature|Credential)=)[^&\s"']+|(\bAWS4-HMAC-SHA256 )[^"'\n]+/gi;

function redactText(text: string): string {
  return text.replace(SECRET_IN_TEXT, (_match, query: string | undefined, scheme: string | undefined) => `${query ?? scheme}${REDACTED}`);
}

/**
 * A copy of `value` safe to log: secret keys redacted, errors as `{ name, message, stack }`, cycles cut, bigint as
 * text. Objects with `toJSON` (like the parsed event's credentials) are serialized through it first.
 */
export function redactForLog<T>(value: T): T {
  return JSON.parse(safeJson(value) ?? 'null');
}

/**
 * JSON text of any value, never a throw: a `toJSON` that throws, a getter that throws, or a proxy that refuses to be
 * read gives a description of the value instead (logging must not turn into a second failure).
 */
export function safeJson(value: unknown): string {
  try {
    return stringifyRedacted(value) ?? 'null';
  } catch (error) {
    return JSON.stringify({ unserializable: describeUnserializable(value), reason: messageOf(error) });
  }
}

function stringifyRedacted(value: unknown): string | undefined {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, function replacer(key, v: unknown) {
    if (key !== '' && isSecretKey(key) && v !== undefined && v !== null) {
      return REDACTED;
    }
    if (typeof v === 'string') {
      return redactText(v);
    }
    if (v instanceof Error) {
      return errorFields(v);
    }
    if (typeof v === 'bigint') {
      return v.toString();
    }
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

/** A short description of a value that could not be serialized; never throws. */
export function describeUnserializable(value: unknown): string {
  try {
    if (typeof value === 'object' && value !== null) {
      const name = Object.getPrototypeOf(value)?.constructor?.name;
      return `an object${typeof name === 'string' && name !== '' && name !== 'Object' ? ` of class ${name}` : ''}`;
    }
    if (typeof value === 'symbol') return value.toString();
    return value === undefined ? 'undefined' : `a ${typeof value}`;
  } catch {
    return 'a value that cannot be inspected';
  }
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown';
  }
}

function errorFields(error: Error): LogAttributes {
  // Own enumerable fields first (SDK errors carry `$metadata`, `Code`...), then the standard ones.
  return { ...error, name: error.name, message: error.message, stack: error.stack };
}

/**
 * A logger that keeps keys for every later line, as Powertools for AWS Lambda's `Logger` does: `setCorrelationId`
 * (its `correlation_id` key) or `appendKeys`/`removeKeys`.
 */
interface KeyedLogger extends Logger {
  setCorrelationId?(value: unknown): void;
  appendKeys?(attributes: LogAttributes): void;
  removeKeys?(keys: string[]): void;
}

/**
 * The job's logger over the handler's: the job id becomes the correlation id (a keyed logger keeps it itself through
 * `setCorrelationId` or `appendKeys`; any other logger gets `correlationId` on every line), and every attribute the
 * runtime or the handler logs through it is redacted first. `release()` removes keys appended for this invocation.
 */
export function correlatedLogger(base: Logger, jobId: string, requestId: string | undefined): { logger: Logger; release: () => void } {
  const keyed = base as KeyedLogger;
  const perLine = requestId !== undefined ? { awsRequestId: requestId } : {};
  if (typeof keyed.setCorrelationId === 'function') {
    keyed.setCorrelationId(jobId);
    return { logger: withAttributes(base, perLine), release: () => undefined };
  }
  if (typeof keyed.appendKeys === 'function') {
    keyed.appendKeys({ correlationId: jobId });
    return {
      logger: withAttributes(base, perLine),
      release: () => (typeof keyed.removeKeys === 'function' ? keyed.removeKeys(['correlationId']) : undefined),
    };
  }
  return { logger: withAttributes(base, { correlationId: jobId, ...perLine }), release: () => undefined };
}
