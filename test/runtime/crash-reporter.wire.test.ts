import { handler } from '../../src/runtime/crash-reporter';
import { jobEvent } from '../support/job-event';
import { FAKE_SESSION_CREDENTIALS } from '../support/servers';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();

function failureRecordFor(event: unknown): unknown {
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId: 'req-1', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'Error', errorMessage: 'database unreachable', trace: [] },
  };
}

test('a crashed job is reported failed through PutJobFailureResult', async () => {
  const event = jobEvent();
  const jobId = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  await captureLogs(() => handler(failureRecordFor(event)));
  const job = servers.jobApi.job(jobId)!;
  expect(job.status).toBe('Failed');
  expect(job.results[0].failureDetails).toEqual({
    type: 'JobFailed',
    message: 'Lambda function crashed: database unreachable (condition RetriesExhausted, 3 attempts, request req-1)',
    externalExecutionId: 'req-1',
  });
});

test('a second delivery of the same record is logged as already ended, not thrown', async () => {
  const event = jobEvent();
  servers.jobApi.registerJob(event['CodePipeline.job'].id);
  await captureLogs(() => handler(failureRecordFor(event)));
  const { logs } = await captureLogs(() => handler(failureRecordFor(event)));
  expect(servers.jobApi.job(event['CodePipeline.job'].id)!.results).toHaveLength(1);
  expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: expect.stringMatching(/already ended/) }));
});

test('an unknown job is logged, not thrown', async () => {
  const { logs } = await captureLogs(() => handler(failureRecordFor(jobEvent())));
  expect(logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringMatching(/does not know this job/) }));
});

test('a record that is not from a CodePipeline job reports nothing and does not throw', async () => {
  const before = servers.jobApi.requests.length;
  const { logs } = await captureLogs(() => handler({ requestPayload: { Records: [] } }));
  expect(servers.jobApi.requests.length).toBe(before);
  expect(logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringMatching(/nothing to report/) }));
});

test('log lines carry the job id as correlation id and never the artifact credentials', async () => {
  const event = jobEvent();
  servers.jobApi.registerJob(event['CodePipeline.job'].id);
  const { logs, text } = await captureLogs(() => handler(failureRecordFor(event)));
  expect(logs.every((l) => l.correlationId === event['CodePipeline.job'].id)).toBe(true);
  expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.secretAccessKey);
  expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.sessionToken);
});

test('throttled reports are retried while the invocation has time, beyond the SDK attempts', async () => {
  const event = jobEvent();
  const jobId = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  // The SDK's standard mode makes 3 attempts; 5 throttles need the runtime's own retries on top.
  servers.jobApi.injectFaults([{ target: 'PutJobFailureResult', type: 'ThrottlingException', times: 5 }]);
  const end = Date.now() + 25_000;
  await captureLogs(() => handler(failureRecordFor(event), { getRemainingTimeInMillis: () => end - Date.now() }));
  expect(servers.jobApi.job(jobId)!.status).toBe('Failed');
});

test('a report that keeps failing is thrown once the invocation runs out of time', async () => {
  const event = jobEvent();
  const jobId = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  servers.jobApi.injectFaults([{ target: 'PutJobFailureResult', type: 'ThrottlingException', times: 1000 }]);
  // 2.5 s left and 2 s kept for the end: the retries stop after about half a second, and Lambda's retry takes over.
  const end = Date.now() + 2_500;
  try {
    await expect(captureLogs(() => handler(failureRecordFor(event), { getRemainingTimeInMillis: () => end - Date.now() }))).rejects.toThrow(/Throttl/);
    expect(servers.jobApi.job(jobId)!.status).not.toBe('Failed');
    // It gave up within the invocation's time (without the context it would retry for 10 s).
    expect(Date.now()).toBeLessThan(end);
  } finally {
    servers.jobApi.clearFaults();
  }
});
