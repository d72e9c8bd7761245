/**
 * jobHandler of `cdk-codepipeline-invoke/runtime/core`: the features a handler names in `use` are what it can do,
 * and what it cannot do is said plainly. Jobs run through the real SDK client against the job-API emulator.
 */
import type { JobRecord } from '../../src/local/job-api-emulator';
import type { PipelineJobHandler } from '../../src/runtime';
import { jobHandler, jsonSchema } from '../../src/runtime/core';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();
const schema = { type: 'object', properties: { environment: { enum: ['dev', 'prod'] } }, required: ['environment'] };

async function runOnce(handler: PipelineJobHandler, options: Parameters<typeof jobEvent>[0] = {}) {
  const event = jobEvent(options);
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  await captureLogs(() => handler(event, { awsRequestId: 'r', getRemainingTimeInMillis: () => 30_000 }));
  const job = servers.jobApi.job(jobId) as JobRecord;
  return { job, last: job.results[job.results.length - 1] };
}

test('a JSON Schema without the jsonSchema feature is refused when the handler is made', () => {
  expect(() => jobHandler({ schema }, () => undefined)).toThrow(/a JSON Schema needs the jsonSchema feature in 'use'/);
});

test('with use: [jsonSchema], a JSON Schema checks the parameters as in the full runtime', async () => {
  const { job, last } = await runOnce(
    jobHandler({ schema, use: [jsonSchema] }, () => undefined),
    { userParameters: '{"environment":"qa"}' },
  );
  expect(job.status).toBe('Failed');
  expect(last.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/^UserParameters: environment: must be one of/) });
});

test('reading an input artifact without readArtifacts fails the job saying which feature to add', async () => {
  const { job, last } = await runOnce(
    jobHandler({}, async (j) => {
      await j.inputArtifact('Source').readFile('app.json');
    }),
    { inputs: { Source: 'key' } },
  );
  expect(job.status).toBe('Failed');
  expect(last.failureDetails?.message).toMatch(/cannot use input artifacts: add readArtifacts to 'use'/);
});

test('writing an output artifact without writeArtifacts fails the job saying which feature to add', async () => {
  const { last } = await runOnce(
    jobHandler({}, async (j) => {
      await j.outputArtifact('Out').uploadFiles({ 'a.txt': 'a' });
    }),
    { outputs: { Out: 'key' } },
  );
  expect(last.failureDetails?.message).toMatch(/cannot use output artifacts: add writeArtifacts to 'use'/);
});
