/**
 * codePipelineJob() in a real middy pipeline with Powertools' injectLambdaContext (test/fixtures/middy/handler.ts,
 * bundled with esbuild as NodejsFunction bundles a handler: middy 6 is ESM only), against the job-API emulator.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import type { JobRecord } from '../../src/local/job-api-emulator';
import type * as Fixture from '../fixtures/middy/handler.mjs' with { 'resolution-mode': 'import' };
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();
const ROOT = path.join(__dirname, '..', '..');
let fixture: typeof Fixture;
let outDir: string;

beforeAll(() => {
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  outDir = fs.mkdtempSync(path.join(ROOT, 'tmp', 'middy-'));
  const outfile = path.join(outDir, 'handler.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'test', 'fixtures', 'middy', 'handler.mts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@aws-sdk/*'],
    logLevel: 'error',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  fixture = require(outfile);
});

afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

/** A Lambda context whose remaining time runs out `timeoutMs` after it is made. */
function lambdaContext(timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  return { awsRequestId: 'request-9', functionName: 'deployer', getRemainingTimeInMillis: () => end - Date.now() };
}

/** middy's handler type wants its third argument (middy fills it in when missing, as on Lambda). */
type AnyHandler = (event: unknown, context: any, options: any) => Promise<unknown>;

async function invoke(handler: AnyHandler, userParameters: object, timeoutMs?: number) {
  const event = jobEvent({ userParameters: JSON.stringify(userParameters) });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const { result, logs } = await captureLogs(() => handler(event, lambdaContext(timeoutMs), undefined));
  const job = servers.jobApi.job(jobId) as JobRecord;
  return { jobId, job, last: job.results[job.results.length - 1], logs, result };
}

test('a returned result is reported as the job success', async () => {
  const { handler } = fixture.makeHandler();
  const { job, last } = await invoke(handler, { action: 'succeed', environment: 'prod' });
  expect(job.status).toBe('Succeeded');
  expect(last.outputVariables).toEqual({ environment: 'prod' });
  expect(last.executionDetails?.summary).toBe('deployed');
});

test('a thrown error is reported as the job failure, and the invocation itself succeeds (no Lambda retry)', async () => {
  const { handler } = fixture.makeHandler();
  const { job, last } = await invoke(handler, { action: 'fail', environment: 'dev' });
  expect(job.status).toBe('Failed');
  expect(last.failureDetails).toMatchObject({ type: 'JobFailed', message: 'health check failed' });
});

test('continueLater is reported as a success with a continuation token', async () => {
  const { handler } = fixture.makeHandler();
  const { last } = await invoke(handler, { action: 'continue', environment: 'dev' });
  expect(last.continuationToken).toEqual(expect.any(String));
  expect(last.executionDetails).toMatchObject({ summary: 'waiting', percentComplete: 40 });
});

test('invalid UserParameters are reported as a ConfigurationError and the handler does not run', async () => {
  const { handler, ran } = fixture.makeHandler();
  const { job, last } = await invoke(handler, { action: 'succeed', environment: 'staging' });
  expect(job.status).toBe('Failed');
  expect(last.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/^UserParameters: environment: /) });
  expect(ran).toEqual([]);
});

test('a handler still running at the deadline has its job reported failed then, and its signal aborted', async () => {
  const { handler, ran } = fixture.makeHandler({ deadlineMarginMs: 500 });
  const started = Date.now();
  const { job, last } = await invoke(handler, { action: 'hang', environment: 'dev' }, 1_500);
  expect(ran).toEqual(['hang']);
  expect(job.status).toBe('Failed');
  expect(last.failureDetails?.message).toMatch(/exceeded the function's timeout/);
  expect(Date.now() - started).toBeLessThan(1_500);
});

test('Powertools injectLambdaContext with correlationIdPath "CodePipeline.job".id tags the handler\'s lines with the job id', async () => {
  const { handler } = fixture.makeHandler();
  const { jobId, logs } = await invoke(handler, { action: 'succeed', environment: 'dev' });
  expect(logs.find((l) => l.message === 'handler running')).toMatchObject({ service: 'middy-fixture', correlation_id: jobId, environment: 'dev' });
});

test("given the Powertools Logger, the runtime's own lines go through it with the job id", async () => {
  const { handler } = fixture.makeHandler({ runtimeLogger: true });
  const { jobId, logs } = await invoke(handler, { action: 'succeed', environment: 'dev' });
  const runtimeLines = logs.filter((l) => l.message === 'Job started' || l.message === 'Job succeeded');
  expect(runtimeLines).toHaveLength(2);
  for (const line of runtimeLines) expect(line).toMatchObject({ service: 'middy-fixture', correlation_id: jobId, function_request_id: 'request-9' });
});
