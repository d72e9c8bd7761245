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
    const entry = Object.assign({ timestamp: new Date().toISOString(), level, message }, base, ...attributes);
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

/** Keys whose values are never logged, wherever they appear (raw events, SDK inputs, user objects). */
const SECRET_KEYS = /^(secretAccessKey|sessionToken|SecretAccessKey|SessionToken|secret_access_key|session_token|aws_secret_access_key|aws_session_token)$/;
const REDACTED = '[redacted]';

/**
 * A copy of `value` safe to log: secret keys redacted, errors as `{ name, message, stack }`, cycles cut, bigint as
 * text. Objects with `toJSON` (like the parsed event's credentials) are serialized through it first.
 */
export function redactForLog<T>(value: T): T {
  return JSON.parse(safeJson(value) ?? 'null');
}

function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, function replacer(key, v: unknown) {
    if (key !== '' && SECRET_KEYS.test(key) && v !== undefined && v !== null) {
      return REDACTED;
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
