/**
 * jobHandler({ logger }) with a real Powertools for AWS Lambda Logger (and a logger that only has appendKeys): the
 * runtime's log lines go through it with the job id as correlation id, and credentials never reach its output. Jobs
 * run through the real @aws-sdk/client-codepipeline against the job-API emulator.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, LogAttributes, PipelineJobHandler } from '../../src/runtime';
import { jobEvent } from '../support/job-event';
import { FAKE_SESSION_CREDENTIALS } from '../support/servers';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();

const lambdaContext = { awsRequestId: 'request-7', getRemainingTimeInMillis: () => 42_000 };

async function runOnce(handler: PipelineJobHandler) {
  const event = jobEvent();
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const { logs, text } = await captureLogs(() => handler(event, lambdaContext));
  return { jobId, job: servers.jobApi.job(jobId) as JobRecord, logs, text };
}

describe('a Powertools Logger', () => {
  test("the runtime's lines go through it, with the job id as its correlation_id", async () => {
    const logger = new PowertoolsLogger({ serviceName: 'deployer' });
    const { jobId, job, logs } = await runOnce(jobHandler({ logger }, () => ({ summary: 'done' })));
    expect(job.status).toBe('Succeeded');
    const messages = logs.map((l) => l.message);
    expect(messages).toEqual(expect.arrayContaining(['Job started', 'Job succeeded']));
    for (const line of logs) {
      expect(line).toMatchObject({ service: 'deployer', correlation_id: jobId, awsRequestId: 'request-7' });
    }
  });

  test('lines the handler writes through job.logger carry the correlation id too', async () => {
    const logger = new PowertoolsLogger({ serviceName: 'deployer' });
    const { jobId, logs } = await runOnce(
      jobHandler({ logger }, (job) => {
        job.logger.info('checking health', { target: 'https://a.example' });
      }),
    );
    expect(logs.find((l) => l.message === 'checking health')).toMatchObject({ correlation_id: jobId, target: 'https://a.example' });
  });

  test('the next job gets its own correlation id on the same logger', async () => {
    const logger = new PowertoolsLogger({ serviceName: 'deployer' });
    const handler = jobHandler({ logger }, () => undefined);
    const first = await runOnce(handler);
    const second = await runOnce(handler);
    expect(new Set(first.logs.map((l) => l.correlation_id))).toEqual(new Set([first.jobId]));
    expect(new Set(second.logs.map((l) => l.correlation_id))).toEqual(new Set([second.jobId]));
  });

  test('credentials logged through job.logger are redacted before they reach it', async () => {
    const logger = new PowertoolsLogger({ serviceName: 'deployer' });
    const { logs, text } = await runOnce(
      jobHandler({ logger }, (job) => {
        job.logger.info('credentials in hand', { credentials: { ...FAKE_SESSION_CREDENTIALS }, raw: job.event['CodePipeline.job'].data });
        throw new Error('deploy failed');
      }),
    );
    expect(logs.find((l) => l.message === 'credentials in hand').credentials).toMatchObject({ secretAccessKey: '[redacted]', sessionToken: '[redacted]' });
    expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.secretAccessKey);
    expect(text).not.toContain(FAKE_SESSION_CREDENTIALS.sessionToken);
    expect(logs.map((l) => l.message)).toContain('Job failure reported');
  });
});

describe('a logger with appendKeys', () => {
  /** The shape of loggers that keep keys (pino's child bindings, Powertools' appendKeys) reduced to what matters. */
  function keyedLogger() {
    const keys: Record<string, unknown> = {};
    const lines: LogAttributes[] = [];
    const log =
      (level: string) =>
        (message: string, ...attributes: LogAttributes[]) =>
          lines.push(Object.assign({ level, message }, keys, ...attributes));
    return {
      lines,
      keys,
      logger: {
        debug: log('debug'),
        info: log('info'),
        warn: log('warn'),
        error: log('error'),
        appendKeys: (attributes: LogAttributes) => Object.assign(keys, attributes),
        removeKeys: (names: string[]) => names.forEach((name) => delete keys[name]),
      },
    };
  }

  test('gets the job id appended as correlationId for the job, and removed after it', async () => {
    const { lines, keys, logger } = keyedLogger();
    const { jobId } = await runOnce(jobHandler({ logger }, () => undefined));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.correlationId).toBe(jobId);
    expect(keys).toEqual({});
  });
});
