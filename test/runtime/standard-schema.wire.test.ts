/**
 * Standard Schema at run time (zod 4, and any object with `~standard`), and one zod schema serving both ends: its JSON
 * Schema (`z.toJSONSchema`) checks the UserParameters at synth, the schema itself at run time, and both name a bad
 * field the same way. Jobs run through the real @aws-sdk/client-codepipeline against the job-API emulator.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { z } from 'zod';
import { LambdaInvokeStage, UserParameters, UserParametersSchema } from '../../src';
import type { JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, PipelineJobHandler, StandardSchemaV1 } from '../../src/runtime';
import { inlineCode, stackWithPipeline } from '../constructs/helpers';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();

/** The one schema of the parameters, as a user writes it once and imports into the stack and the handler. */
const Params = z.object({
  environment: z.enum(['dev', 'prod']),
  targets: z.array(z.object({ url: z.string(), weight: z.number().int().min(0) })),
});

const lambdaContext = { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 42_000 };

async function runOnce(handler: PipelineJobHandler, userParameters?: string) {
  const event = jobEvent({ userParameters });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  await captureLogs(() => handler(event, lambdaContext));
  const job = servers.jobApi.job(jobId) as JobRecord;
  return { job, result: job.results[job.results.length - 1] };
}

/** Synthesizes a stage whose parameters are checked against the zod schema's JSON Schema; returns the synth error. */
function synthError(userParameters: object): string | undefined {
  const fixture = stackWithPipeline();
  try {
    new LambdaInvokeStage(fixture.stack, 'Deploy', {
      pipeline: fixture.pipeline,
      stageName: 'Deploy',
      code: inlineCode,
      handler: 'index.handler',
      userParametersSchema: UserParametersSchema.fromJsonSchema(z.toJSONSchema(Params)),
      userParameters: UserParameters.fromObject(userParameters),
    });
    Template.fromStack(fixture.stack as Stack);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The fields a failure message names, in order: 'targets[0].url' of '...: targets[0].url: must be a string; ...'. */
function namedFields(list: string, prefix = ''): string[] {
  return list.split('; ').map((item) => item.slice(0, item.indexOf(': ')).replace(prefix, ''));
}

/** The list of violations of a failure message at run time, or of a synth error. */
const atRunTime = (message: string) => message.replace(/^UserParameters: /, '');
const atSynthTime = (message: string) => message.replace(/^.*? do not match the userParametersSchema: /, '');

describe('one zod schema at both ends', () => {
  const good = { environment: 'prod', targets: [{ url: 'https://a.example', weight: 2 }] };
  const bad = { environment: 'prod', targets: [{ url: 'https://a.example', weight: 1 }, { url: 7, weight: 1 }] };

  test('its JSON Schema accepts conforming parameters at synth', () => {
    expect(synthError(good)).toBeUndefined();
  });

  test('the handler receives the parameters the schema parsed, typed by it', async () => {
    let seen: unknown;
    const handler = jobHandler({ schema: Params }, (job) => {
      // Typed by the schema's output, no generic written: these lines would not compile otherwise.
      const environment: 'dev' | 'prod' = job.userParameters.environment;
      const firstWeight: number = job.userParameters.targets[0].weight;
      // @ts-expect-error -- not a field of the schema
      void job.userParameters.region;
      seen = { environment, firstWeight };
    });
    const { job } = await runOnce(handler, JSON.stringify(good));
    expect(job.status).toBe('Succeeded');
    expect(seen).toEqual({ environment: 'prod', firstWeight: 2 });
  });

  test('a violation names the same field at synth and at run time', async () => {
    const atSynth = synthError(bad);
    const { job, result } = await runOnce(
      jobHandler({ schema: Params }, () => undefined),
      JSON.stringify(bad),
    );
    expect(job.status).toBe('Failed');
    expect(result.failureDetails?.type).toBe('ConfigurationError');
    expect(atSynth).toMatch(/^Stack\/Deploy: userParameters do not match the userParametersSchema: userParameters\.targets\[1\]\.url: /);
    expect(result.failureDetails?.message).toMatch(/^UserParameters: targets\[1\]\.url: /);
    expect(namedFields(atRunTime(result.failureDetails!.message))).toEqual(namedFields(atSynthTime(atSynth!), 'userParameters.'));
    expect(namedFields(atRunTime(result.failureDetails!.message))).toEqual(['targets[1].url']);
  });
});

describe('Standard Schema at run time', () => {
  test("the schema's output is what the handler gets: defaults and transforms applied", async () => {
    const schema = z.object({ retries: z.number().int().default(3), name: z.string().transform((s) => s.toUpperCase()) });
    let seen: unknown;
    const { job } = await runOnce(
      jobHandler({ schema }, (j) => {
        seen = j.userParameters;
      }),
      '{"name":"api"}',
    );
    expect(job.status).toBe('Succeeded');
    expect(seen).toEqual({ retries: 3, name: 'API' });
  });

  test('every violation is listed, each with its field', async () => {
    const { result } = await runOnce(jobHandler({ schema: Params }, () => undefined), '{"environment":"test","targets":[{"url":"u","weight":-1}]}');
    expect(namedFields(atRunTime(result.failureDetails!.message)).sort()).toEqual(['environment', 'targets[0].weight']);
  });

  test('missing UserParameters fail as the JSON Schema path says it', async () => {
    const { result } = await runOnce(jobHandler({ schema: Params }, () => undefined));
    expect(result.failureDetails).toMatchObject({ type: 'ConfigurationError', message: 'UserParameters: (root): is missing (no UserParameters given)' });
  });

  test('any object with ~standard works, an asynchronous validator and path segment objects included', async () => {
    const schema: StandardSchemaV1<unknown, { n: number }> = {
      '~standard': {
        version: 1,
        vendor: 'hand-made',
        validate: async (value) => {
          const n = (value as { list?: Array<{ n?: unknown }> }).list?.[0]?.n;
          return typeof n === 'number' ? { value: { n } } : { issues: [{ message: 'Must be a number', path: ['list', { key: 0 }, { key: 'n' }] }] };
        },
      },
    };
    let seen: unknown;
    const ok = await runOnce(
      jobHandler({ schema }, (job) => {
        const n: number = job.userParameters.n;
        seen = n;
      }),
      '{"list":[{"n":5}]}',
    );
    expect(ok.job.status).toBe('Succeeded');
    expect(seen).toBe(5);
    const bad = await runOnce(jobHandler({ schema }, () => undefined), '{"list":[{"n":"5"}]}');
    expect(bad.result.failureDetails?.message).toBe('UserParameters: list[0].n: must be a number');
  });

  test('a validator that throws fails the job with its message instead of crashing the invocation', async () => {
    const schema: StandardSchemaV1 = {
      '~standard': {
        version: 1,
        vendor: 'broken',
        validate: () => {
          throw new Error('validator exploded');
        },
      },
    };
    const { job, result } = await runOnce(jobHandler({ schema }, () => undefined), '{}');
    expect(job.status).toBe('Failed');
    expect(result.failureDetails?.message).toMatch(/validator exploded/);
  });

  test('a written parameters type still wins over the schema (the JSON Schema form the README shows)', async () => {
    interface P {
      environment: string;
    }
    const jsonSchema = { type: 'object', properties: { environment: { type: 'string' } }, required: ['environment'] };
    let seen = '';
    const { job } = await runOnce(
      jobHandler<P>({ schema: jsonSchema }, (j) => {
        seen = j.userParameters.environment;
      }),
      '{"environment":"dev"}',
    );
    expect(job.status).toBe('Succeeded');
    expect(seen).toBe('dev');
  });
});
