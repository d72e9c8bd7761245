/**
 * The deadline watchdog of jobHandler: a handler still running when the invocation's remaining time falls under the
 * margin gets its job reported (a failure naming what it was doing, or a continuation from its last checkpoint)
 * before Lambda would stop it, exactly once, through the real SDK client against the job-API emulator. The Lambda
 * context here counts down a short fake timeout (1.5 s), and the cases run concurrently (each on its own job, S3
 * faults scoped to its own object, a logger of its own), so that the suite stays fast.
 */
import * as fs from 'fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Tally } from './tally';
import type { JobRecord } from '../../src/local/job-api-emulator';
import { JobHandlerOptions, jobHandler, Logger, PipelineJob, PipelineJobHandler } from '../../src/runtime';
import { jobEvent } from '../support/job-event';
import { useWireServers } from '../support/wire-servers';
import { craftZip } from '../support/zip-forge';

const BUCKET = 'deadline-artifacts';
const TIMEOUT_MS = 1500;
const MARGIN_MS = 300;
const tally = new Tally('deadline');

const servers = useWireServers({ bucket: BUCKET });
afterAll(() => tally.flush());

/** Log lines of one case (captureLogs patches process.stdout, which concurrent cases cannot share). */
function quietLogger(lines: string[] = []): Logger {
  const keep = (message: string) => void lines.push(message);
  return { debug: keep, info: keep, warn: keep, error: keep };
}

/** jobHandler with the case's short margin and a quiet logger. */
function handlerOf<P = unknown, S = unknown>(options: JobHandlerOptions, fn: Parameters<typeof jobHandler<P, S>>[1]): PipelineJobHandler {
  return jobHandler<P, S>({ deadlineMarginMs: MARGIN_MS, logger: quietLogger(), ...options }, fn);
}

/** A Lambda-like context whose remaining time runs out `timeoutMs` after it is made, as on Lambda. */
function lambdaContext(timeoutMs = TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  return { awsRequestId: 'deadline-request', getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

/** A promise that never settles: a handler stuck on something. */
const forever = () => new Promise<never>(() => undefined);

let keys = 0;
async function putInput(): Promise<string> {
  // Keys differ per case, so that S3 faults can be scoped to one case's object (`path`).
  const key = `pipeline/Source/${++keys}`;
  const zip = craftZip([{ name: 'data.bin', data: Buffer.alloc(200_000, 3), store: true }]);
  await servers.direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: zip }));
  return key;
}

/**
 * Invokes `handler` for a fresh job with a counting-down context; returns the job as the emulator recorded it and the
 * remaining time at the moment the report arrived.
 */
async function invoke(handler: PipelineJobHandler, eventOptions: Parameters<typeof jobEvent>[0] = {}) {
  const event = jobEvent({ bucket: BUCKET, ...eventOptions });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const context = lambdaContext();
  const remainingAtReport: number[] = [];
  const unsubscribe = servers.jobApi.onReport((report) => {
    if (report.jobId === jobId) remainingAtReport.push(context.getRemainingTimeInMillis());
  });
  tally.cases++;
  let escaped: unknown;
  try {
    await handler(event, context).catch((error: unknown) => (escaped = error));
    const job = servers.jobApi.job(jobId) as JobRecord;
    const failure = job.results[0]?.failureDetails;
    if (escaped !== undefined || job.results.length !== 1) tally.crashes++;
    else if (failure !== undefined) tally.failuresReportedCorrectly++;
    else tally.successes++;
    return { job, jobId, escaped, failure, remainingAtReport, remainingAtReturn: context.getRemainingTimeInMillis() };
  } finally {
    unsubscribe();
  }
}

describe('a handler still running at the deadline', () => {
  test.concurrent('is failed before the deadline, saying it exceeded the timeout while running the handler, with the figures', async () => {
    const handler = handlerOf({}, forever);
    const { job, escaped, failure, remainingAtReport } = await invoke(handler);
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Failed');
    expect(failure).toMatchObject({ type: 'JobFailed', externalExecutionId: 'deadline-request' });
    expect(failure!.message).toMatch(
      /^The job exceeded the function's timeout while running the handler: \d\.\d s of the invocation's 1\.\d s had passed, and the runtime stopped waiting 0\.3 s before Lambda would stop the function \(deadlineMarginMs\)\. Raise the function's timeout/,
    );
    expect(remainingAtReport).toHaveLength(1);
    expect(remainingAtReport[0]).toBeGreaterThan(0);
  });

  test.concurrent('stuck in an artifact download, names the download in the failure', async () => {
    const key = await putInput();
    servers.proxy.injectFaults([{ kind: 'stall', methods: ['GET'], path: new RegExp(`/${key}(\\?|$)`), afterBytes: 1000, times: 5 }]);
    tally.faultsInjected++;
    const handler = handlerOf({}, async (job) => {
      await job.inputArtifact('Source').extractTo();
      return { summary: 'never' };
    });
    const { failure, escaped } = await invoke(handler, { inputs: { Source: key } });
    expect(escaped).toBeUndefined();
    expect(failure!.message).toMatch(
      new RegExp(`exceeded the function's timeout while downloading input artifact 'Source' \\(s3://${BUCKET}/${key}\\)`),
    );
  });

  test.concurrent('gets job.signal aborted with a TimeoutError carrying the same message', async () => {
    let seen: PipelineJob | undefined;
    const handler = handlerOf({}, (job) => {
      seen = job;
      return forever();
    });
    const { failure } = await invoke(handler);
    expect(seen!.signal.aborted).toBe(true);
    expect(seen!.signal.reason).toMatchObject({ name: 'TimeoutError', message: expect.stringMatching(/^The job exceeded the function's timeout/) });
    expect(failure!.message.startsWith((seen!.signal.reason as Error).message)).toBe(true);
  });

  test.concurrent('with the default margin, is stopped a fifth of a short timeout before it (0.3 s of 1.5 s)', async () => {
    const { failure } = await invoke(handlerOf({ deadlineMarginMs: undefined }, forever));
    expect(failure!.message).toMatch(/stopped waiting 0\.3 s before Lambda would stop the function/);
  });

  test.concurrent('removes its temporary folders, and artifact work it starts afterwards fails at once', async () => {
    const key = await putInput();
    let folder = '';
    let late: Promise<unknown> = Promise.resolve();
    const handler = handlerOf({}, async (job) => {
      folder = await job.inputArtifact('Source').extractTo();
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
      late = job.inputArtifact('Source').extractTo().catch((error: unknown) => error);
      return forever();
    });
    const { job } = await invoke(handler, { inputs: { Source: key } });
    expect(job.status).toBe('Failed');
    expect(folder).not.toBe('');
    expect(fs.existsSync(folder)).toBe(false);
    // Refused either by the aborted signal or by the ended job, depending on how far it got: both say why.
    expect(await late).toMatchObject({ message: expect.stringMatching(/The job exceeded the function's timeout/) });
  });
});

describe('exactly one report', () => {
  test.concurrent.each([
    ['returns a result', async () => ({ summary: 'late success' })],
    [
      'throws',
      async () => {
        throw new Error('late failure');
      },
    ],
  ])('a handler that %s after the deadline report changes nothing', async (_what, finish) => {
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const handler = handlerOf({}, async (job) => {
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => setTimeout(resolve, 50)));
      try {
        return await finish();
      } finally {
        finished();
      }
    });
    const { jobId, job } = await invoke(handler);
    expect(job.status).toBe('Failed');
    await done;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = servers.jobApi.job(jobId)!;
    expect(after.results).toHaveLength(1);
    expect(servers.jobApi.requests.filter((r) => (r.body as { jobId?: string } | undefined)?.jobId === jobId)).toHaveLength(1);
  });

  test.concurrent('a handler that finishes before the deadline is reported as usual, and no deadline report follows', async () => {
    const handler = handlerOf({}, async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { summary: 'in time' };
    });
    const { job, jobId } = await invoke(handler);
    expect(job.status).toBe('Succeeded');
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS));
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
  });
});

describe("onDeadline: 'continue'", () => {
  test.concurrent('reports a continuation with the last checkpoint, and the next invocation gets its state', async () => {
    const handler = handlerOf<unknown, { step: number }>({ onDeadline: 'continue' }, async (job) => {
      if (job.continuation !== undefined) return { summary: `finished from step ${job.continuation.step}` };
      job.checkpoint({ step: 1 });
      job.checkpoint({ step: 2 }, { percentComplete: 40 });
      return forever();
    });
    const first = await invoke(handler);
    expect(first.escaped).toBeUndefined();
    expect(first.job.status).toBe('InProgress');
    expect(first.job.results[0]).toMatchObject({
      operation: 'PutJobSuccessResult',
      continuationToken: expect.stringContaining('{"step":2}'),
      executionDetails: {
        percentComplete: 40,
        summary: expect.stringMatching(/^Continuing from the last checkpoint: the invocation reached the function's timeout while running the handler/),
      },
    });
    expect(first.remainingAtReport[0]).toBeGreaterThan(0);

    const second = jobEvent({ jobId: first.jobId, continuationToken: first.job.continuationToken });
    await handler(second, lambdaContext());
    expect(servers.jobApi.job(first.jobId)).toMatchObject({ status: 'Succeeded', results: [{}, { executionDetails: { summary: 'finished from step 2' } }] });
  });

  test.concurrent("the checkpoint's own summary is kept", async () => {
    const handler = handlerOf({ onDeadline: 'continue' }, (job) => {
      job.checkpoint({ copied: 120 }, { summary: '120 of 400 files copied' });
      return forever();
    });
    const { job } = await invoke(handler);
    expect(job.results[0].executionDetails?.summary).toBe('120 of 400 files copied');
  });

  test.concurrent('without a checkpoint in this invocation, the job fails, saying why it could not continue', async () => {
    const { job, failure } = await invoke(handlerOf({ onDeadline: 'continue' }, forever));
    expect(job.status).toBe('Failed');
    expect(failure!.message).toMatch(/onDeadline is 'continue', but the handler recorded no job\.checkpoint\(state\) in this invocation/);
  });

  test.concurrent("with onDeadline 'fail' (the default), a checkpoint is not used", async () => {
    const handler = handlerOf({}, (job) => {
      job.checkpoint({ step: 3 });
      return forever();
    });
    const { job } = await invoke(handler);
    expect(job.status).toBe('Failed');
  });

  test.concurrent('a checkpoint too big for the continuation token throws where it is made', async () => {
    const handler = handlerOf({ onDeadline: 'continue' }, (job) => {
      job.checkpoint({ blob: 'x'.repeat(3000) });
      return forever();
    });
    const { job, failure } = await invoke(handler);
    expect(job.status).toBe('Failed');
    expect(failure!.message).toMatch(/continueLater: the state is \d+ characters as JSON/);
  });
});

describe('when there is no deadline to watch', () => {
  test.concurrent('without a Lambda context there is no watchdog: a margin no invocation could have is not even checked', async () => {
    const event = jobEvent();
    servers.jobApi.registerJob(event['CodePipeline.job'].id);
    const handler = handlerOf({ deadlineMarginMs: 3_600_000 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { summary: 'no context' };
    });
    await handler(event);
    expect(servers.jobApi.job(event['CodePipeline.job'].id)!.status).toBe('Succeeded');
  });

  test.concurrent('a margin longer than the whole invocation fails the job as ConfigurationError, without running the handler', async () => {
    let ran = false;
    const handler = handlerOf({ deadlineMarginMs: 5_000 }, () => {
      ran = true;
      return { summary: 'x' };
    });
    const { failure } = await invoke(handler);
    expect(ran).toBe(false);
    expect(failure).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/^deadlineMarginMs \(5000 ms\) leaves the handler no time/) });
  });
});
