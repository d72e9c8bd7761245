/**
 * Duplicate and late deliveries: Lambda delivers asynchronous events at least once and retries failed invocations, so
 * the same job event arrives twice (one after the other, or at the same time), and reports come after the job ended.
 * The emulator must record exactly one result, and no exception may escape the handler.
 */
import { Tally } from './tally';
import { jobHandler, JobFailedError } from '../../src/runtime';
import { handler as crashReporter } from '../../src/runtime/crash-reporter';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const tally = new Tally('duplicates');

const servers = useWireServers();
afterAll(() => tally.flush());

const context = { awsRequestId: 'dup-request', getRemainingTimeInMillis: () => 60_000 };

function newJobEvent() {
  const event = jobEvent();
  servers.jobApi.registerJob(event['CodePipeline.job'].id);
  return { event, jobId: event['CodePipeline.job'].id as string };
}

/** Runs invocations, counting each as a case; an exception that escapes counts as a crash (and fails the test). */
async function deliver(invocations: ReadonlyArray<() => Promise<void>>, concurrently: boolean): Promise<any[]> {
  tally.cases += invocations.length;
  const { result, logs } = await captureLogs(async () => {
    if (concurrently) return Promise.allSettled(invocations.map((invoke) => invoke()));
    const settled: PromiseSettledResult<void>[] = [];
    for (const invoke of invocations) settled.push(...(await Promise.allSettled([invoke()])));
    return settled;
  });
  const crashes = result.filter((r) => r.status === 'rejected');
  tally.crashes += crashes.length;
  expect(crashes).toEqual([]);
  return logs;
}

const succeed = jobHandler({}, () => ({ summary: 'done' }));
const fail = jobHandler({}, () => {
  throw new JobFailedError('health check failed');
});

describe.each([
  ['one after the other', false],
  ['at the same time', true],
] as const)('the same event twice, %s', (_how, concurrently) => {
  test('a success is recorded once', async () => {
    const { event, jobId } = newJobEvent();
    const logs = await deliver([() => succeed(event, context), () => succeed(event, context)], concurrently);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
    expect(servers.jobApi.job(jobId)!.status).toBe('Succeeded');
    expect(logs.filter((l) => /already ended/.test(l.message))).toHaveLength(1);
    tally.successes++;
  });

  test('a failure is recorded once', async () => {
    const { event, jobId } = newJobEvent();
    await deliver([() => fail(event, context), () => fail(event, context)], concurrently);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
    expect(servers.jobApi.job(jobId)!.results[0].failureDetails).toMatchObject({ type: 'JobFailed', message: 'health check failed' });
    tally.failuresReportedCorrectly++;
  });

  test('a success and a failure racing: the first report wins, the other is logged', async () => {
    const { event, jobId } = newJobEvent();
    await deliver([() => succeed(event, context), () => fail(event, context)], concurrently);
    const job = servers.jobApi.job(jobId)!;
    expect(job.results).toHaveLength(1);
    expect(job.status).toBe(job.results[0].operation === 'PutJobSuccessResult' ? 'Succeeded' : 'Failed');
  });

  test('five deliveries still make one result', async () => {
    const { event, jobId } = newJobEvent();
    await deliver(Array.from({ length: 5 }, () => () => succeed(event, context)), concurrently);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
  });
});

describe('reports after the job ended', () => {
  test("the crash reporter's late failure for a job the handler already finished is logged, not thrown", async () => {
    const { event, jobId } = newJobEvent();
    await deliver([() => succeed(event, context)], false);
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: 'late', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'Task timed out after 300.00 seconds' },
    };
    const logs = await deliver([() => crashReporter(record)], false);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
    expect(servers.jobApi.job(jobId)!.status).toBe('Succeeded');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: expect.stringMatching(/already ended/) }));
  });

  test('a handler finishing after the crash reporter failed the job is logged, not thrown', async () => {
    const { event, jobId } = newJobEvent();
    await deliver([() => fail(event, context)], false);
    const logs = await deliver([() => succeed(event, context)], false);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
    expect(servers.jobApi.job(jobId)!.status).toBe('Failed');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: expect.stringMatching(/already ended/) }));
  });

  test('a report for a job CodePipeline does not know is logged, not thrown', async () => {
    const event = jobEvent(); // never registered: expired, or from another account
    const logs = await deliver([() => succeed(event, context)], false);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringMatching(/does not know this job/) }));
  });

  test('a continuation delivered again after the job ended is logged, not thrown', async () => {
    const { event, jobId } = newJobEvent();
    const continuing = jobHandler<unknown, { step: number }>({}, (job) => (job.continuation === undefined ? job.continueLater({ step: 2 }) : { summary: 'end' }));
    await deliver([() => continuing(event, context)], false);
    const token = servers.jobApi.job(jobId)!.continuationToken!;
    const second = jobEvent({ jobId, continuationToken: token });
    await deliver([() => continuing(second, context), () => continuing(second, context)], true);
    const job = servers.jobApi.job(jobId)!;
    expect(job.status).toBe('Succeeded');
    expect(job.results.map((r) => r.continuationToken !== undefined)).toEqual([true, false]);
  });
});
