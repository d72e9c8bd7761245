/**
 * The middy middleware form of jobHandler, for handlers composed with middy and Powertools (injectLambdaContext,
 * idempotency, metrics):
 *
 *   export const handler = middy()
 *     .use(injectLambdaContext(logger))
 *     .use(codePipelineJob({ schema: Params, logger }))
 *     .handler(async (_event, context: JobContext<z.infer<typeof Params>>) => {
 *       const { job } = context;
 *       return { summary: `deployed to ${job.userParameters.environment}` };
 *     });
 *
 * The semantics are jobHandler's, because jobHandler runs underneath: `before` parses the event and the UserParameters
 * (a bad event or bad parameters are reported as a failure there, and the handler does not run), the handler's return
 * value is reported in `after` (a result, `job.continueLater(...)` or nothing), an error in `onError` (then the
 * invocation succeeds: the job was reported, Lambda must not retry), and the deadline watchdog reports the job when
 * the function is about to time out. An invocation fails only when the job could not be reported.
 *
 * middy is not a dependency: the middleware is typed structurally, and works with @middy/core 4 to 7.
 */
import { jobHandler, JobHandlerOptions, JobOutcome } from './job-handler';
import type { LambdaContextLike, PipelineJob } from './pipeline-job';

/** What the handler finds in its context: `context.job`. */
export interface JobContext<P = unknown, S = unknown> {
  readonly job: PipelineJob<P, S>;
}

/** The part of middy's request object the middleware uses. */
export interface MiddyRequestLike {
  readonly event: unknown;
  readonly context: object;
  response: unknown;
  error?: unknown;
}

/** A middy middleware object (`MiddlewareObj` of @middy/core). */
export interface CodePipelineJobMiddleware {
  before(request: MiddyRequestLike): Promise<null | undefined>;
  after(request: MiddyRequestLike): Promise<void>;
  onError(request: MiddyRequestLike): Promise<void>;
}

/** One invocation: jobHandler running underneath, waiting for the middy handler's outcome. */
interface Invocation {
  /** jobHandler's promise: settles once the job is reported (or rejects when it could not be). */
  readonly reported: Promise<void>;
  /** The job could not be reported: the error goes to Lambda as it is, and nothing is reported again. */
  reportFailed: boolean;
  settle(outcome: { ok: true; value: JobOutcome } | { ok: false; error: unknown }): void;
}

/**
 * A middy middleware that turns the handler into a CodePipeline job handler; options as for `jobHandler`. The handler
 * gets the job as `context.job` and returns what a jobHandler function returns.
 */
export function codePipelineJob(options: JobHandlerOptions = {}): CodePipelineJobMiddleware {
  const invocations = new WeakMap<MiddyRequestLike, Invocation>();

  return {
    async before(request) {
      let jobStarted: (job: PipelineJob) => void = () => undefined;
      const started = new Promise<PipelineJob>((resolve) => (jobStarted = resolve));
      let settle: Invocation['settle'] = () => undefined;
      const outcome = new Promise<JobOutcome>((resolve, reject) => {
        settle = (result) => (result.ok ? resolve(result.value) : reject(result.error));
      });
      // One jobHandler per invocation: its function hands the job to the middy handler and waits for its outcome.
      const run = jobHandler<unknown>(options, (job) => {
        jobStarted(job);
        return outcome;
      });
      const invocation: Invocation = {
        reported: run(request.event, request.context as LambdaContextLike),
        settle,
        reportFailed: false,
      };
      invocations.set(request, invocation);
      invocation.reported.catch(() => {
        invocation.reportFailed = true;
      });
      const first = await Promise.race([started.then((job) => ({ job })), invocation.reported.then(() => ({ job: undefined }))]);
      if (first.job === undefined) {
        // Reported already (an invalid event or invalid UserParameters): middy skips the handler.
        return null;
      }
      Object.assign(request.context, { job: first.job });
      return undefined;
    },

    async after(request) {
      const invocation = invocations.get(request);
      if (invocation === undefined) return;
      invocation.settle({ ok: true, value: request.response as JobOutcome });
      await invocation.reported;
      request.response = undefined;
    },

    async onError(request) {
      const invocation = invocations.get(request);
      // Not a job of this middleware, or its report failed: the error reaches Lambda (which retries).
      if (invocation === undefined || invocation.reportFailed) return;
      invocation.settle({ ok: false, error: request.error });
      await invocation.reported;
      // The failure is reported: the invocation itself succeeds (middy returns the response instead of throwing).
      request.response = null;
    },
  };
}
