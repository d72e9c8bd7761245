/**
 * Reporting under job-API faults: PutJobSuccessResult / PutJobFailureResult are retried (throttling, 5xx, network)
 * beyond the SDK's own attempts for as long as the invocation's time allows, then the invocation fails; a success
 * report CodePipeline refuses becomes a failure report saying why. The real SDK client against the job-API emulator
 * with injected faults, AWS_MAX_ATTEMPTS=1 so that every retry seen is the runtime's; a Lambda context counting down
 * a short fake timeout.
 */
import { randomUUID } from 'crypto';
import { Tally } from './tally';
import type { JobApiFault, JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, JobHandlerOptions, Logger, PipelineJobHandler } from '../../src/runtime';
import { jobEvent } from '../support/job-event';
import { codePipelineClient, freePort } from '../support/servers';
import { useWireServers } from '../support/wire-servers';

const TIMEOUT_MS = 1500;
const MARGIN_MS = 600;
const tally = new Tally('report-retry');

const servers = useWireServers();
afterAll(() => tally.flush());

function lambdaContext(timeoutMs = TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  return { awsRequestId: 'retry-request', getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

function quietLogger(lines: string[] = []): Logger {
  const keep = (message: string) => void lines.push(message);
  return { debug: keep, info: keep, warn: keep, error: keep };
}

function handlerOf(fn: Parameters<typeof jobHandler>[1], options: JobHandlerOptions = {}): PipelineJobHandler {
  return jobHandler({ deadlineMarginMs: MARGIN_MS, logger: quietLogger(), ...options }, fn);
}

/**
 * Registers a fresh job with its faults (scoped to it), invokes the handler, and returns what the emulator saw. An
 * invocation that fails by design (no time left to report: Lambda retries it) counts as a case only.
 */
type Context = ReturnType<typeof lambdaContext>;
async function invoke(handler: PipelineJobHandler, faults: readonly JobApiFault[], context: Context | undefined = lambdaContext()) {
  const event = jobEvent();
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const faultsBefore = servers.jobApi.faultsInjected;
  servers.jobApi.injectFaults(faults.map((fault) => ({ jobId, ...fault })));
  tally.cases++;
  let escaped: unknown;
  await handler(event, context).catch((error: unknown) => (escaped = error));
  tally.faultsInjected += servers.jobApi.faultsInjected - faultsBefore;
  const job = servers.jobApi.job(jobId) as JobRecord;
  const requests = servers.jobApi.requests.filter((r) => (r.body as { jobId?: string } | undefined)?.jobId === jobId);
  const failure = job.results[0]?.failureDetails;
  if (escaped === undefined && job.results.length === 1) {
    if (failure !== undefined) tally.failuresReportedCorrectly++;
    else tally.successes++;
  }
  return { job, escaped, failure, requests, remainingAtReturn: context?.getRemainingTimeInMillis() };
}

const succeed = handlerOf(() => ({ summary: 'done', outputVariables: { version: '1.2.3' } }));
const fail = handlerOf(() => {
  throw new Error('health check failed');
});

describe('retried reports', () => {
  test.concurrent('four ThrottlingExceptions on PutJobSuccessResult (more than the SDK would try): the fifth attempt succeeds', async () => {
    const { job, escaped, requests } = await invoke(succeed, [{ target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 4 }]);
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Succeeded');
    expect(requests.map((r) => r.errorType ?? r.status)).toEqual(['ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ThrottlingException', 200]);
  });

  test.concurrent('a 503, a 500 and a dropped connection on PutJobFailureResult: the failure is reported', async () => {
    const { job, escaped, failure, requests } = await invoke(fail, [
      { target: 'PutJobFailureResult', status: 503 },
      { target: 'PutJobFailureResult', status: 500 },
      { target: 'PutJobFailureResult', reset: true },
    ]);
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Failed');
    expect(failure?.message).toBe('health check failed');
    expect(requests).toHaveLength(4);
  });

  test.concurrent('a lost response: the retry meets InvalidJobStateException, which counts as reported (one result)', async () => {
    const { job, escaped, requests } = await invoke(succeed, [{ target: 'PutJobSuccessResult', status: 500, when: 'after' }]);
    expect(escaped).toBeUndefined();
    expect(job.results).toHaveLength(1);
    expect(requests.map((r) => r.errorType)).toEqual(['InternalFailure', 'InvalidJobStateException']);
  });

  test.concurrent('without a Lambda context, throttled reports are retried too', async () => {
    const { job, escaped } = await invoke(succeed, [{ target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 2 }], undefined);
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Succeeded');
  });
});

describe('when the time runs out', () => {
  test.concurrent('retries stop before the deadline, and the invocation fails with the last error (the job stays unreported for Lambda to retry)', async () => {
    const { job, escaped, requests, remainingAtReturn } = await invoke(succeed, [{ target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 10_000 }]);
    expect(escaped).toMatchObject({
      name: 'JobReportError',
      message: expect.stringMatching(/^PutJobSuccessResult failed \d+ times and the invocation has no time left to retry; last error: ThrottlingException: Rate exceeded/),
    });
    expect(job.status).toBe('InProgress');
    expect(requests.length).toBeGreaterThan(3);
    expect(remainingAtReturn).toBeGreaterThan(0);
  });

  test.concurrent('a report that hangs is abandoned before the deadline', async () => {
    const { job, escaped, remainingAtReturn } = await invoke(succeed, [{ target: 'PutJobSuccessResult', delayMs: TIMEOUT_MS, status: 500 }]);
    expect(escaped).toMatchObject({
      name: 'JobReportError',
      message: expect.stringMatching(/^PutJobSuccessResult did not complete within the invocation's remaining time/),
    });
    expect(job.status).toBe('InProgress');
    expect(remainingAtReturn).toBeGreaterThan(0);
  });

  test.concurrent('a deadline report that is throttled throughout: the invocation still ends before Lambda would stop it', async () => {
    const stuck = handlerOf(() => new Promise<never>(() => undefined));
    const { escaped, requests, remainingAtReturn } = await invoke(stuck, [{ target: 'PutJobFailureResult', type: 'ThrottlingException', times: 10_000 }]);
    expect(escaped).toMatchObject({ name: 'JobReportError' });
    expect(requests.length).toBeGreaterThan(1);
    expect(requests[0].body).toMatchObject({ failureDetails: { message: expect.stringMatching(/^The job exceeded the function's timeout/) } });
    expect(remainingAtReturn).toBeGreaterThan(0);
  });
});

describe('a refused success report', () => {
  test.concurrent('a ValidationException on PutJobSuccessResult fails the job, saying the success report was refused and why', async () => {
    const { job, escaped, failure, requests } = await invoke(succeed, [
      { target: 'PutJobSuccessResult', type: 'ValidationException', status: 400, message: "1 validation error detected: Value at 'outputVariables' failed" },
    ]);
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Failed');
    expect(failure).toEqual({
      type: 'JobFailed',
      externalExecutionId: 'retry-request',
      message:
        "The handler succeeded, but CodePipeline refused its success report (ValidationException: 1 validation error detected: Value at 'outputVariables' failed), " +
        'so the job is reported failed instead. The report carried output variables version, a summary of 4 characters.',
    });
    expect(requests.map((r) => r.operation)).toEqual(['PutJobSuccessResult', 'PutJobFailureResult']);
  });

  test.concurrent('an AccessDeniedException on PutJobSuccessResult alone fails the job through PutJobFailureResult', async () => {
    const { job, failure } = await invoke(succeed, [{ target: 'PutJobSuccessResult', type: 'AccessDeniedException', status: 400, message: 'not authorized' }]);
    expect(job.status).toBe('Failed');
    expect(failure?.message).toMatch(/refused its success report \(AccessDeniedException: not authorized\)/);
  });

  test.concurrent('a refused failure report is thrown at once, without retries', async () => {
    const { escaped, requests, job } = await invoke(fail, [{ target: 'PutJobFailureResult', type: 'AccessDeniedException', status: 400, message: 'not authorized' }]);
    expect(escaped).toMatchObject({ name: 'AccessDeniedException', message: 'not authorized' });
    expect(requests).toHaveLength(1);
    expect(job.status).toBe('InProgress');
  });

  test.concurrent('a refused success report whose failure report is refused too makes the invocation fail', async () => {
    const { escaped, job } = await invoke(succeed, [
      { target: 'PutJobSuccessResult', type: 'ValidationException', status: 400 },
      { target: 'PutJobFailureResult', type: 'AccessDeniedException', status: 400, message: 'not authorized' },
    ]);
    expect(escaped).toMatchObject({ name: 'AccessDeniedException' });
    expect(job.status).toBe('InProgress');
  });
});

test('an endpoint nobody listens on is retried until the time runs out, and the error names the refused connection', async () => {
  const handler = handlerOf(() => ({ summary: 'ok' }), { codePipelineClient: codePipelineClient(`http://127.0.0.1:${await freePort()}`) });
  const context = lambdaContext(800);
  const error = await handler(jobEvent({ jobId: randomUUID() }), context).catch((e: unknown) => e);
  expect(error).toMatchObject({ name: 'JobReportError', message: expect.stringMatching(/ECONNREFUSED/), attempts: expect.any(Number) });
  expect((error as { attempts: number }).attempts).toBeGreaterThan(1);
  expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
});
