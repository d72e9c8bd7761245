/**
 * The invocation's deadline: the runtime stops waiting for the handler shortly before Lambda would stop the function,
 * and reports the job itself, so that the job never stays unreported until the action times out (a Lambda timeout
 * would only reach the crash reporter, minutes later, after Lambda's retries).
 */
import { MAX_TIMER_MS } from './abort';
import type { Logger } from './logger';
import type { Checkpoint, LambdaContextLike } from './pipeline-job';
import type { ReportDeadline } from './report';
import { continueLaterResult, failureOf, Reportable, successInput } from './results';
import { JobFailedError } from '../shared/errors';

/** The default deadline margin: 10 s (see `deadlineMarginMs` of jobHandler). */
const DEFAULT_DEADLINE_MARGIN_MS = 10_000;
/** The default margin is at most this fraction of the time an invocation has when it starts. */
const DEFAULT_DEADLINE_MARGIN_FRACTION = 0.2;

/** What is reported at the deadline (see `onDeadline` of jobHandler). */
export type OnDeadline = 'fail' | 'continue';

/** jobHandler's deadline options, checked once when the handler is built. */
export interface DeadlineOptions {
  /** The margin the user gave (`deadlineMarginMs`); undefined for the default. */
  readonly marginMs: number | undefined;
  readonly onDeadline: OnDeadline;
}

/** Checks `deadlineMarginMs` and `onDeadline`: a wrong value throws when the handler is built, not per invocation. */
export function deadlineOptions(options: { readonly deadlineMarginMs?: unknown; readonly onDeadline?: unknown }): DeadlineOptions {
  const onDeadline = checkOnDeadline(options.onDeadline);
  return { marginMs: checkMargin(options.deadlineMarginMs), onDeadline };
}

/** The deadline of one invocation. */
export interface InvocationDeadline {
  readonly remainingTimeMs: () => number;
  /** The handler is stopped when the remaining time falls to this. */
  readonly marginMs: number;
  readonly options: DeadlineOptions;
  /** How long reports may keep retrying. */
  readonly report: ReportDeadline;
}

/** The deadline of an invocation with this context; undefined without a Lambda context (no deadline then). */
export function invocationDeadline(context: LambdaContextLike | undefined, options: DeadlineOptions): InvocationDeadline | undefined {
  const remainingTimeMs = remainingTimeOf(context);
  const atStart = remainingTimeMs?.();
  if (remainingTimeMs === undefined || atStart === undefined) return undefined;
  const marginMs = options.marginMs ?? defaultMargin(atStart);
  // Reports retry until half the margin is left (of at most the default fraction, should a margin be too long):
  // the rest is for ending the invocation (throw, log, clean up) before Lambda stops it.
  const reserveMs = Math.min(marginMs, Math.max(0, atStart) * DEFAULT_DEADLINE_MARGIN_FRACTION) / 2;
  return { remainingTimeMs, marginMs, options, report: { remainingTimeMs, reserveMs } };
}

/** What the deadline needs of the running job. */
export interface DeadlineJob {
  readonly lastCheckpoint: Checkpoint | undefined;
  /** What the job is doing now (for the message), undefined between operations. */
  currentActivity(): string | undefined;
  /** Stops the handler's work (`job.signal`). */
  abort(reason: Error): void;
}

/** Who the job is, for the deadline's report and log lines. */
export interface DeadlineReporting {
  readonly jobId: string;
  readonly requestId: string | undefined;
  readonly logger: Logger;
}

/** What a run came to: fn's outcome, or the report the deadline decided. */
export type RunResult<T> = { readonly kind: 'returned'; readonly outcome: T } | { readonly kind: 'deadline'; readonly result: Reportable };

/**
 * Runs fn until it settles or the deadline comes, whichever is first (without a deadline, until it settles). At the
 * deadline the job is stopped (`job.signal`) and its report is decided here; fn's later result is ignored (its
 * rejection is handled by the race).
 */
export async function runWithinDeadline<T>(
  job: DeadlineJob,
  fn: () => Promise<T> | T,
  deadline: InvocationDeadline | undefined,
  reporting: DeadlineReporting,
): Promise<RunResult<T>> {
  if (deadline === undefined) return { kind: 'returned', outcome: await fn() };
  const { remainingTimeMs, marginMs } = deadline;
  if (deadline.options.marginMs !== undefined && remainingTimeMs() <= marginMs) {
    throw new JobFailedError(
      `deadlineMarginMs (${marginMs} ms) leaves the handler no time: the invocation had ${Math.max(0, Math.round(remainingTimeMs()))} ms ` +
        "left when it started. Lower deadlineMarginMs or raise the function's timeout.",
      'ConfigurationError',
    );
  }
  const fnStarted = Date.now();
  if (remainingTimeMs() <= marginMs) {
    // Already at the deadline (an invocation that started late): fn is not started at all.
    return { kind: 'deadline', result: deadlineResult(job, deadline, remainingTimeMs(), 0, reporting) };
  }
  let stopWatching: () => void = () => undefined;
  const reached = new Promise<{ kind: 'deadline' }>((resolve) => {
    stopWatching = watchDeadline(remainingTimeMs, marginMs, () => resolve({ kind: 'deadline' }));
  });
  try {
    const first = await Promise.race([Promise.resolve().then(async () => ({ kind: 'returned' as const, outcome: await fn() })), reached]);
    if (first.kind === 'returned') return first;
  } finally {
    stopWatching();
  }
  return { kind: 'deadline', result: deadlineResult(job, deadline, remainingTimeMs(), Date.now() - fnStarted, reporting) };
}

/** Stops the job and decides its report: a continuation from the last checkpoint when allowed, else a failure. */
function deadlineResult(job: DeadlineJob, deadline: InvocationDeadline, left: number, elapsedMs: number, reporting: DeadlineReporting): Reportable {
  const { marginMs: margin, options } = deadline;
  const { jobId, requestId, logger } = reporting;
  const onDeadline = options.onDeadline;
  const activity = job.currentActivity() ?? 'running the handler';
  const figures = `${seconds(elapsedMs)} of the invocation's ${seconds(elapsedMs + Math.max(0, left))} had passed`;
  const exceeded = `The job exceeded the function's timeout while ${activity}: ${figures}, and the runtime stopped waiting ${seconds(margin)} before Lambda would stop the function (deadlineMarginMs)`;
  job.abort(timeoutError(exceeded));
  const checkpoint = job.lastCheckpoint;
  const logAttributes = { activity, elapsedMs, remainingMs: Math.round(left), marginMs: margin, onDeadline };
  if (onDeadline === 'continue' && checkpoint !== undefined) {
    logger.warn('Deadline reached: the job continues from its last checkpoint in a new invocation', logAttributes);
    const summary = checkpoint.progress.summary ?? `Continuing from the last checkpoint: the invocation reached the function's timeout while ${activity}`;
    const continuation = continueLaterResult(checkpoint.token, { ...checkpoint.progress, summary });
    return { kind: 'success', input: successInput(jobId, continuation, requestId), continues: true };
  }
  const advice =
    onDeadline === 'continue'
      ? " onDeadline is 'continue', but the handler recorded no job.checkpoint(state) in this invocation, so the job cannot continue."
      : " Raise the function's timeout, or do the work in resumable steps with job.checkpoint(state) and onDeadline: 'continue'.";
  logger.error('Deadline reached: the job fails', logAttributes);
  return { kind: 'failure', failure: failureOf(new JobFailedError(`${exceeded}.${advice}`), requestId) };
}

/**
 * The invocation's remaining time from the Lambda context (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html:
 * getRemainingTimeInMillis() "returns the number of milliseconds left before the execution times out"), or undefined
 * without one. It never grows past what the first reading and the clock allow, so that a context whose clock stands
 * still (a hand-made one) still comes to an end.
 */
function remainingTimeOf(context: LambdaContextLike | undefined): (() => number) | undefined {
  if (typeof context?.getRemainingTimeInMillis !== 'function') return undefined;
  const read = () => {
    const value = context.getRemainingTimeInMillis!();
    return typeof value === 'number' && !Number.isNaN(value) ? value : Number.POSITIVE_INFINITY;
  };
  const end = Date.now() + read();
  return () => Math.min(read(), end - Date.now());
}

function defaultMargin(remainingAtStart: number): number {
  return Math.min(DEFAULT_DEADLINE_MARGIN_MS, Math.max(0, remainingAtStart) * DEFAULT_DEADLINE_MARGIN_FRACTION);
}

/**
 * Calls `onDeadline` once `remainingTimeMs()` is at most `marginMs`. The remaining time is read again when the timer
 * fires (timers may run late, never early, and a context's clock is its own), and the wait renewed if needed.
 * Returns a function that stops watching.
 */
function watchDeadline(remainingTimeMs: () => number, marginMs: number, onDeadline: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = () => {
    if (stopped) return;
    const wait = remainingTimeMs() - marginMs;
    if (wait <= 0) {
      onDeadline();
      return;
    }
    timer = setTimeout(check, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  };
  check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The reason `job.signal` is aborted with: named like the one of `AbortSignal.timeout()`. */
function timeoutError(message: string): Error {
  const error = new Error(message);
  error.name = 'TimeoutError';
  return error;
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function checkMargin(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`jobHandler: deadlineMarginMs must be a number of milliseconds >= 0, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

function checkOnDeadline(value: unknown): OnDeadline {
  if (value === undefined) return 'fail';
  if (value !== 'fail' && value !== 'continue') {
    throw new RangeError(`jobHandler: onDeadline must be 'fail' or 'continue', got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}
