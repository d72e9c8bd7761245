/**
 * Whole jobs through jobHandler with the real @aws-sdk/client-codepipeline against the job-API emulator (no S3 here:
 * artifacts.wire.test.ts covers artifacts on both S3 backends).
 */
import type { JobRecord } from '../../src/local/job-api-emulator';
import { InvalidJobEventError, JobFailedError, jobHandler, Logger, PipelineJob } from '../../src/runtime';
import { FAILURE_MESSAGE_MAX_LENGTH, OUTPUT_VARIABLES_MAX_BYTES } from '../../src/shared/limits';
import { jobEvent } from '../support/job-event';
import { codePipelineClient, FAKE_CREDENTIALS, FAKE_SESSION_CREDENTIALS, freePort, startJobApi } from '../support/servers';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();

const schema = {
  type: 'object',
  properties: {
    environment: { enum: ['dev', 'prod'] },
    retries: { type: 'integer', minimum: 0 },
  },
  required: ['environment'],
  additionalProperties: false,
} as const;

interface Params {
  environment: 'dev' | 'prod';
  retries?: number;
}

const lambdaContext = { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 42_000 };

/** Registers a fresh job, invokes `handler` with its event, and returns what the emulator recorded. */
async function runOnce(handler: (event: unknown, context?: any) => Promise<void>, options: Parameters<typeof jobEvent>[0] = {}) {
  const event = jobEvent(options);
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const { logs, text } = await captureLogs(() => handler(event, lambdaContext));
  return { event, jobId, job: servers.jobApi.job(jobId) as JobRecord, logs, text };
}

function lastResult(job: JobRecord) {
  return job.results[job.results.length - 1];
}

describe('success', () => {
  test('a returned result is reported with output variables, summary and the request id', async () => {
    const handler = jobHandler({}, async () => ({ outputVariables: { url: 'https://example.com', version: '42' }, summary: 'deployed' }));
    const { job } = await runOnce(handler);
    expect(job.status).toBe('Succeeded');
    expect(lastResult(job).outputVariables).toEqual({ url: 'https://example.com', version: '42' });
    expect(lastResult(job).executionDetails).toEqual({ summary: 'deployed', externalExecutionId: 'request-1' });
  });

  test('returning nothing is a plain success', async () => {
    const { job } = await runOnce(jobHandler({}, () => undefined));
    expect(job.status).toBe('Succeeded');
    expect(lastResult(job).outputVariables).toBeUndefined();
  });

  test('a summary longer than the API allows is cut with a marker', async () => {
    const { job } = await runOnce(jobHandler({}, () => ({ summary: 's'.repeat(3000) })));
    const summary = lastResult(job).executionDetails!.summary!;
    expect(summary.length).toBe(2048);
    expect(summary).toMatch(/characters cut\]$/);
  });

  test('the job knows its id, account, time budget and artifact names', async () => {
    let seen: Record<string, unknown> = {};
    const handler = jobHandler({}, (job) => {
      seen = {
        id: job.id,
        accountId: job.accountId,
        remaining: job.remainingTimeMs(),
        inputs: job.inputArtifactNames,
        outputs: job.outputArtifactNames,
      };
    });
    const { jobId } = await runOnce(handler, { inputs: { Source: 'k1' }, outputs: { Out: 'k2' } });
    expect(seen).toEqual({ id: jobId, accountId: '123456789012', remaining: 42_000, inputs: ['Source'], outputs: ['Out'] });
  });
});

describe('failure', () => {
  test('a thrown error fails the job as JobFailed with its message', async () => {
    const { job } = await runOnce(
      jobHandler({}, () => {
        throw new TypeError('url is undefined');
      }),
    );
    expect(job.status).toBe('Failed');
    expect(lastResult(job).failureDetails).toEqual({ type: 'JobFailed', message: 'TypeError: url is undefined', externalExecutionId: 'request-1' });
  });

  test('a JobFailedError sets the failure type', async () => {
    const { job } = await runOnce(
      jobHandler({}, () => {
        throw new JobFailedError('no permission to deploy', 'PermissionError');
      }),
    );
    expect(lastResult(job).failureDetails).toMatchObject({ type: 'PermissionError', message: 'no permission to deploy' });
  });

  test('a message longer than 5000 characters is cut with a marker and accepted by the API', async () => {
    const { job } = await runOnce(
      jobHandler({}, () => {
        throw new JobFailedError('e'.repeat(12_000));
      }),
    );
    const message = lastResult(job).failureDetails!.message;
    expect(message.length).toBeLessThanOrEqual(FAILURE_MESSAGE_MAX_LENGTH);
    expect(message).toMatch(/…\[\d+ characters cut\]$/);
  });

  test('asking for an artifact the action does not have is a ConfigurationError naming what exists', async () => {
    const { job } = await runOnce(
      jobHandler({}, async (j) => {
        await j.inputArtifact().extractTo();
      }),
      { inputs: { Source: 'a', Build: 'b' } },
    );
    expect(lastResult(job).failureDetails).toMatchObject({
      type: 'ConfigurationError',
      message: expect.stringMatching(/has 2 input artifacts \(Source, Build\); name the one you want/),
    });
  });
});

describe('UserParameters', () => {
  test('valid parameters reach the handler typed, with the raw text alongside', async () => {
    let seen: PipelineJob<Params> | undefined;
    const handler = jobHandler<Params>({ schema }, (job) => {
      seen = job;
    });
    await runOnce(handler, { userParameters: '{"environment":"prod","retries":3}' });
    expect(seen!.userParameters).toEqual({ environment: 'prod', retries: 3 });
    expect(seen!.rawUserParameters).toBe('{"environment":"prod","retries":3}');
  });

  test('a schema violation fails the job as ConfigurationError naming the field, and the body does not run', async () => {
    const body = jest.fn();
    const { job } = await runOnce(jobHandler<Params>({ schema }, body), { userParameters: '{"environment":"staging","retries":-1}' });
    expect(body).not.toHaveBeenCalled();
    expect(job.status).toBe('Failed');
    const { type, message } = lastResult(job).failureDetails!;
    expect(type).toBe('ConfigurationError');
    expect(message).toMatch(/^UserParameters: /);
    expect(message).toMatch(/environment: /);
    expect(message).toMatch(/retries: must be >= 0/);
  });

  test('parameters that are not JSON fail as ConfigurationError with the variable-quoting hint', async () => {
    const body = jest.fn();
    const { job } = await runOnce(jobHandler<Params>({ schema }, body), { userParameters: '{"environment":"pr"od"}' });
    expect(body).not.toHaveBeenCalled();
    expect(lastResult(job).failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/not valid JSON.*aws-cdk #31213/) });
  });

  test('missing parameters fail as ConfigurationError when a schema expects them', async () => {
    const body = jest.fn();
    const { job } = await runOnce(jobHandler<Params>({ schema }, body));
    expect(body).not.toHaveBeenCalled();
    expect(lastResult(job).failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/missing/) });
  });

  test('an invalid schema fails the job as ConfigurationError instead of crashing', async () => {
    const body = jest.fn();
    const { job } = await runOnce(jobHandler({ schema: { type: 'objekt' } }, body), { userParameters: '{}' });
    expect(body).not.toHaveBeenCalled();
    expect(lastResult(job).failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/schema is not a valid JSON Schema/) });
  });

  test('without a schema, JSON is parsed and other text is given as it is', async () => {
    const seen: unknown[] = [];
    const handler = jobHandler({}, (job) => {
      seen.push(job.userParameters);
    });
    await runOnce(handler, { userParameters: '{"a":[1,2]}' });
    await runOnce(handler, { userParameters: 'https://example.com/health' });
    await runOnce(handler);
    expect(seen).toEqual([{ a: [1, 2] }, 'https://example.com/health', undefined]);
  });
});

describe('continuation', () => {
  interface State {
    polls: number;
  }

  /** Invokes like CodePipeline does: again with the last continuation token until the job ends. */
  async function runUntilDone(handler: (event: unknown, context?: any) => Promise<void>, maxInvocations = 10) {
    const first = jobEvent();
    const jobId: string = first['CodePipeline.job'].id;
    servers.jobApi.registerJob(jobId);
    let invocations = 0;
    let token: string | undefined;
    do {
      const event = jobEvent({ jobId, continuationToken: token });
      await captureLogs(() => handler(event, lambdaContext));
      invocations++;
      token = servers.jobApi.job(jobId)!.continuationToken;
    } while (servers.jobApi.job(jobId)!.status === 'InProgress' && invocations < maxInvocations);
    return { job: servers.jobApi.job(jobId)!, invocations };
  }

  test('state handed to continueLater comes back on the next invocation until the job ends', async () => {
    const seen: Array<State | undefined> = [];
    const handler = jobHandler<unknown, State>({}, (job) => {
      seen.push(job.continuation);
      const polls = (job.continuation?.polls ?? 0) + 1;
      if (polls < 3) return job.continueLater({ polls }, { summary: `poll ${polls}`, percentComplete: polls * 33.4 });
      return { outputVariables: { polls: String(polls) }, summary: 'done' };
    });
    const { job, invocations } = await runUntilDone(handler);
    expect(invocations).toBe(3);
    expect(seen).toEqual([undefined, { polls: 1 }, { polls: 2 }]);
    expect(job.status).toBe('Succeeded');
    expect(job.results.map((r) => r.executionDetails?.percentComplete)).toEqual([33, 67, undefined]);
    expect(job.results[0].continuationToken!.length).toBeLessThanOrEqual(2048);
    expect(job.results[2].outputVariables).toEqual({ polls: '3' });
  });

  test('isContinuation tells the first invocation from the next ones, even with an empty state', async () => {
    const flags: boolean[] = [];
    const handler = jobHandler({}, (job) => {
      flags.push(job.isContinuation);
      return job.isContinuation ? undefined : job.continueLater();
    });
    const { invocations } = await runUntilDone(handler);
    expect(invocations).toBe(2);
    expect(flags).toEqual([false, true]);
  });

  test('a state too big for the continuation token fails the job clearly', async () => {
    const { job } = await runOnce(jobHandler({}, (j) => j.continueLater({ blob: 'x'.repeat(3000) })));
    expect(job.status).toBe('Failed');
    expect(lastResult(job).failureDetails!.message).toMatch(/state is 30\d\d characters as JSON, but at most 2043 fit/);
  });
});

describe('output variables are checked before the call', () => {
  test('a name outside [A-Za-z0-9@-_] fails the job, naming it', async () => {
    const { job } = await runOnce(jobHandler({}, () => ({ outputVariables: { 'bad name': 'x', 'ok': 'y' } })));
    expect(job.status).toBe('Failed');
    expect(lastResult(job).failureDetails!.message).toMatch(/name "bad name" does not match/);
    expect(servers.jobApi.requests.filter((r) => r.errorType === 'ValidationException')).toHaveLength(0);
  });

  test('values over 122,880 bytes in total fail the job with the size', async () => {
    const big = 'é'.repeat(OUTPUT_VARIABLES_MAX_BYTES / 4); // 2 bytes each in UTF-8: half the limit per variable
    const { job } = await runOnce(jobHandler({}, () => ({ outputVariables: { a: big, b: big, c: 'x' } })));
    expect(lastResult(job).failureDetails!.message).toMatch(/values total 122881 bytes, more than the 122880 bytes/);
  });

  test('values of exactly 122,880 bytes are accepted', async () => {
    const half = 'x'.repeat(OUTPUT_VARIABLES_MAX_BYTES / 2);
    const { job } = await runOnce(jobHandler({}, () => ({ outputVariables: { a: half, b: half } })));
    expect(job.status).toBe('Succeeded');
  });

  test('a value that is not a string fails the job', async () => {
    const { job } = await runOnce(jobHandler({}, () => ({ outputVariables: { count: 3 as unknown as string } })));
    expect(lastResult(job).failureDetails!.message).toMatch(/"count" must be a string, got number/);
  });
});

describe('robustness', () => {
  test('a duplicate delivery of a finished job is logged, not thrown', async () => {
    const body = jest.fn(() => ({ summary: 'ok' }));
    const handler = jobHandler({}, body);
    const { event, jobId } = await runOnce(handler);
    const second = await captureLogs(() => handler(event, lambdaContext));
    expect(body).toHaveBeenCalledTimes(2);
    expect(servers.jobApi.job(jobId)!.results).toHaveLength(1);
    expect(second.logs).toContainEqual(expect.objectContaining({ level: 'WARN', correlationId: jobId, message: expect.stringMatching(/already ended/) }));
  });

  test('an event with a job id but a bad field fails that job as ConfigurationError', async () => {
    const event = jobEvent();
    const jobId = event['CodePipeline.job'].id;
    event['CodePipeline.job'].data.inputArtifacts = null;
    servers.jobApi.registerJob(jobId);
    const body = jest.fn();
    await captureLogs(() => jobHandler({}, body)(event, lambdaContext));
    expect(body).not.toHaveBeenCalled();
    expect(lastResult(servers.jobApi.job(jobId)!).failureDetails).toMatchObject({
      type: 'ConfigurationError',
      message: expect.stringMatching(/CodePipeline\.job\.data\.inputArtifacts must be an array/),
    });
  });

  test('an event that is no job event at all makes the invocation fail', async () => {
    const { result } = await captureLogs(() => jobHandler({}, jest.fn())({ Records: [] }).then(() => undefined, (e: unknown) => e));
    expect(result).toBeInstanceOf(InvalidJobEventError);
  });

  test('a new AWS_ENDPOINT_URL_CODEPIPELINE is followed, as when a local run starts another emulator', async () => {
    const second = await startJobApi();
    const previous = process.env.AWS_ENDPOINT_URL_CODEPIPELINE;
    try {
      process.env.AWS_ENDPOINT_URL_CODEPIPELINE = second.endpoint;
      const event = jobEvent();
      second.registerJob(event['CodePipeline.job'].id);
      await captureLogs(() => jobHandler({}, () => undefined)(event, lambdaContext));
      expect(second.job(event['CodePipeline.job'].id)!.status).toBe('Succeeded');
    } finally {
      process.env.AWS_ENDPOINT_URL_CODEPIPELINE = previous;
      await second.close();
    }
  });

  test('results are signed with the function role, not with the artifact credentials', async () => {
    const strict = await startJobApi({ credentials: [FAKE_CREDENTIALS] });
    const previous = process.env.AWS_ENDPOINT_URL_CODEPIPELINE;
    try {
      process.env.AWS_ENDPOINT_URL_CODEPIPELINE = strict.endpoint;
      const event = jobEvent();
      strict.registerJob(event['CodePipeline.job'].id);
      await captureLogs(() => jobHandler({}, () => undefined)(event, lambdaContext));
      expect(strict.job(event['CodePipeline.job'].id)!.status).toBe('Succeeded');
      expect(strict.requests.map((r) => r.accessKeyId)).toEqual([FAKE_CREDENTIALS.accessKeyId]);
    } finally {
      process.env.AWS_ENDPOINT_URL_CODEPIPELINE = previous;
      await strict.close();
    }
  });

  test('when the result cannot be reported within the time left, the invocation fails so that Lambda retries', async () => {
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    const handler = jobHandler({ codePipelineClient: codePipelineClient(deadEndpoint) }, () => ({ summary: 'ok' }));
    const event = jobEvent();
    const end = Date.now() + 500;
    const countingDown = { awsRequestId: 'request-2', getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
    await expect(captureLogs(() => handler(event, countingDown))).rejects.toThrow(/no time left to retry; last error: .*ECONNREFUSED/);
  });
});

describe('options', () => {
  test.each([
    [{ deadlineMarginMs: -1 }, /deadlineMarginMs must be a number of milliseconds >= 0, got -1/],
    [{ deadlineMarginMs: Number.NaN }, /deadlineMarginMs must be a number of milliseconds >= 0, got null/],
    [{ deadlineMarginMs: '5000' }, /deadlineMarginMs must be a number of milliseconds >= 0, got "5000"/],
    [{ onDeadline: 'retry' }, /onDeadline must be 'fail' or 'continue', got "retry"/],
  ])('%j is refused when the handler is made, naming the option and the value', (options, message) => {
    expect(() => jobHandler(options as object, () => undefined)).toThrow(message);
  });

  /** The job object a handler was given, once that handler returned and the job was reported. */
  async function jobAfterItEnded(): Promise<PipelineJob> {
    let seen: PipelineJob | undefined;
    await runOnce(
      jobHandler({}, (job) => {
        seen = job;
        return { summary: 'ok' };
      }),
      { inputs: { Source: 'k1' } },
    );
    return seen!;
  }

  test('job.signal stays unaborted when the handler ends in time', async () => {
    const seen = await jobAfterItEnded();
    expect(seen.signal.aborted).toBe(false);
  });

  test('artifacts cannot be used once the job is reported', async () => {
    const seen = await jobAfterItEnded();
    await expect(seen.inputArtifact('Source').list()).rejects.toThrow(/has ended: artifacts cannot be used after the job was reported/);
  });
});

describe('logging', () => {
  const logsTheEvent = () =>
    jobHandler({}, (job) => {
      job.logger.info('looking at the event', { event: job.event, raw: jobEvent() });
      return { summary: 'ok' };
    });

  test('lines are JSON with the job id as correlation id', async () => {
    const { jobId, logs } = await runOnce(logsTheEvent());
    expect(logs.length).toBeGreaterThanOrEqual(3);
    expect(logs.every((l) => l.correlationId === jobId && typeof l.timestamp === 'string')).toBe(true);
    expect(logs.map((l) => l.message)).toEqual(['Job started', 'looking at the event', 'Job succeeded']);
  });

  test('lines never show the artifact credentials, even when the handler logs the event', async () => {
    const { text } = await runOnce(logsTheEvent());
    expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.secretAccessKey);
    expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.sessionToken);
  });

  test('a JobFailedError is logged as one warning line with its message and no stack', async () => {
    const { logs, text } = await runOnce(
      jobHandler({}, () => {
        throw new JobFailedError('the source artifact is empty', 'JobFailed');
      }),
    );
    const failed = logs.filter((l) => l.message.startsWith('Job failed'));
    expect(failed).toEqual([expect.objectContaining({ level: 'WARN', message: 'Job failed: the source artifact is empty', failureType: 'JobFailed' })]);
    expect(text).not.toContain('stack');
    expect(text).not.toContain('    at ');
  });

  test('parameters the schema refuses are logged as one warning line naming the field, with no stack', async () => {
    const { logs, text } = await runOnce(jobHandler<Params>({ schema }, () => undefined), { userParameters: '{"environment":"qa"}' });
    const failed = logs.filter((l) => l.message.startsWith('Job failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'WARN', failureType: 'ConfigurationError' });
    expect(failed[0].message).toContain('environment: must be one of "dev", "prod" (got "qa")');
    expect(text).not.toContain('    at ');
  });

  test('an unexpected error is logged at ERROR with its stack', async () => {
    const { logs } = await runOnce(
      jobHandler({}, () => {
        throw new TypeError('url is undefined');
      }),
    );
    const failed = logs.filter((l) => l.message.startsWith('Job failed'));
    expect(failed).toEqual([expect.objectContaining({ level: 'ERROR', message: 'Job failed', failureType: 'JobFailed' })]);
    expect(failed[0].error.stack).toContain('TypeError: url is undefined\n    at ');
  });

  test("a caller's logger (Powertools-shaped) gets the lines with the correlation id", async () => {
    const lines: Array<[string, string, any]> = [];
    const logger: Logger = {
      debug: (m, ...a) => lines.push(['debug', m, Object.assign({}, ...a)]),
      info: (m, ...a) => lines.push(['info', m, Object.assign({}, ...a)]),
      warn: (m, ...a) => lines.push(['warn', m, Object.assign({}, ...a)]),
      error: (m, ...a) => lines.push(['error', m, Object.assign({}, ...a)]),
    };
    const { jobId } = await runOnce(jobHandler({ logger }, () => undefined));
    expect(lines.map(([level, message]) => `${level} ${message}`)).toEqual(['info Job started', 'info Job succeeded']);
    expect(lines.every(([, , attributes]) => attributes.correlationId === jobId)).toBe(true);
  });
});
