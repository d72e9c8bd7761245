/**
 * Hostile events and UserParameters, property-based (fast-check), through jobHandler and the real CodePipeline
 * client against the job-API emulator. Every case must end in a success or a typed failure reported to the job (or,
 * for an event without a job id, an InvalidJobEventError: there is nobody to report to); no other exception escapes,
 * and Object.prototype is never touched.
 */
import fc from 'fast-check';
import { Tally } from './tally';
import { InvalidJobEventError, jobHandler, PipelineJobHandler } from '../../src/runtime';
import { findJobId } from '../../src/shared/event';
import { FAILURE_TYPES } from '../../src/shared/limits';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const tally = new Tally('hostile-events');
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
let peakRss = 0;

const servers = useWireServers();
afterAll(() => tally.flush());

const context = { awsRequestId: 'hostile', getRemainingTimeInMillis: () => 60_000 };

function expectPrototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
}

type Outcome = { kind: 'succeeded' } | { kind: 'failed'; type: string; message: string } | { kind: 'unreportable'; error: unknown };

/** Invokes `handler` with `event`, and classifies what happened; anything else (an escaping exception) is a crash. */
async function invoke(handler: PipelineJobHandler, event: unknown): Promise<Outcome> {
  tally.cases++;
  const jobId = findJobId(event);
  if (jobId !== undefined) servers.jobApi.registerJob(jobId);
  let escaped: unknown;
  await captureLogs(() => handler(event, context).catch((error: unknown) => (escaped = error)));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  expectPrototypesUntouched();
  if (escaped !== undefined) {
    if (escaped instanceof InvalidJobEventError && jobId === undefined) return { kind: 'unreportable', error: escaped };
    tally.crashes++;
    throw new Error(`an exception escaped the handler: ${String(escaped)}`);
  }
  const job = servers.jobApi.job(jobId!)!;
  if (job.results.length !== 1) {
    tally.crashes++;
    throw new Error(`job ${jobId} has ${job.results.length} results`);
  }
  const failure = job.results[0].failureDetails;
  if (failure === undefined) {
    tally.successes++;
    return { kind: 'succeeded' };
  }
  expect(FAILURE_TYPES).toContain(failure.type);
  expect(failure.message.length).toBeGreaterThan(0);
  tally.failuresReportedCorrectly++;
  return { kind: 'failed', type: failure.type, message: failure.message };
}

/** A JSON value whose object keys include the ones that pollute prototypes when merged carelessly. */
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'toString', 'hasOwnProperty', 'valueOf', '', 'a');
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileKey, fc.string()), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** The JSON text of a value, with `__proto__` keys written as plain keys (JSON.parse makes them own properties). */
const pollutingTexts = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":{"__proto__":{"polluted":true}},"__proto__":{"toString":"x"}}',
  '[{"__proto__":{"polluted":1}}]',
  '{"__proto__":null}',
);

const deepNesting = fc.integer({ min: 1, max: 20_000 }).chain((depth) =>
  fc.constantFrom('['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), '['.repeat(depth)),
);

const hugeString = fc.integer({ min: 1_001, max: 2_000_000 }).map((n) => JSON.stringify({ name: 'x'.repeat(n) }));

const userParametersText = fc.oneof(
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  pollutingTexts,
  deepNesting,
  hugeString,
  fc.string({ unit: 'binary', maxLength: 200 }), // lone surrogates, control characters, not JSON
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => JSON.stringify({ name: s })),
);

const schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 100 }, nested: { type: 'object', additionalProperties: { type: 'number' } } },
  additionalProperties: true,
};

describe('UserParameters', () => {
  const body = (job: { userParameters: unknown }) => ({ summary: `got ${typeof job.userParameters}` });
  const withoutSchema = jobHandler({}, body);
  const withSchema = jobHandler({ schema }, body);

  test('without a schema, any text ends in a success and pollutes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(userParametersText, async (text) => {
        const outcome = await invoke(withoutSchema, jobEvent({ userParameters: text }));
        expect(outcome.kind).toBe('succeeded');
      }),
      { numRuns: 60 },
    );
  });

  test('with a schema, any text ends in a success or a ConfigurationError and pollutes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(userParametersText, async (text) => {
        const outcome = await invoke(withSchema, jobEvent({ userParameters: text }));
        if (outcome.kind === 'failed') expect(outcome).toMatchObject({ type: 'ConfigurationError' });
        else expect(outcome.kind).toBe('succeeded');
      }),
      { numRuns: 60 },
    );
  });

  test.each([
    ['{"__proto__":{"polluted":true}}'],
    ['{"constructor":{"prototype":{"polluted":true}}}'],
  ])('%s reaches the handler as a plain own key, not as a prototype', async (text) => {
    let seen: unknown;
    const handler = jobHandler({ schema }, (job) => {
      seen = job.userParameters;
    });
    await invoke(handler, jobEvent({ userParameters: text }));
    const key = Object.keys(JSON.parse(text))[0];
    expect(Object.prototype.hasOwnProperty.call(seen, key)).toBe(true);
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
  });

  test('20,000 levels of nesting: accepted without a schema, a ConfigurationError with one, never a crash', async () => {
    const text = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    expect(await invoke(withoutSchema, jobEvent({ userParameters: text }))).toEqual({ kind: 'succeeded' });
    expect(await invoke(withSchema, jobEvent({ userParameters: text }))).toMatchObject({ kind: 'failed', type: 'ConfigurationError' });
  });
});

/** Paths into a valid event where a hostile value is put. */
const EVENT_PATHS = [
  [],
  ['CodePipeline.job'],
  ['CodePipeline.job', 'accountId'],
  ['CodePipeline.job', 'data'],
  ['CodePipeline.job', 'data', 'actionConfiguration'],
  ['CodePipeline.job', 'data', 'actionConfiguration', 'configuration'],
  ['CodePipeline.job', 'data', 'actionConfiguration', 'configuration', 'UserParameters'],
  ['CodePipeline.job', 'data', 'inputArtifacts'],
  ['CodePipeline.job', 'data', 'inputArtifacts', '0'],
  ['CodePipeline.job', 'data', 'inputArtifacts', '0', 'location', 's3Location'],
  ['CodePipeline.job', 'data', 'outputArtifacts'],
  ['CodePipeline.job', 'data', 'artifactCredentials'],
  ['CodePipeline.job', 'data', 'artifactCredentials', 'secretAccessKey'],
  ['CodePipeline.job', 'data', 'continuationToken'],
  ['CodePipeline.job', 'data', 'encryptionKey'],
  ['__proto__'],
  ['CodePipeline.job', '__proto__'],
  ['CodePipeline.job', 'data', 'constructor'],
] as const;

const mutation = fc.record({
  path: fc.constantFrom(...EVENT_PATHS),
  value: fc.oneof(fc.anything({ maxDepth: 2 }), hostileJson, fc.constant(undefined), fc.constant(null)),
});

/** A valid event with hostile values put at some paths (through JSON text, so `__proto__` keys are own keys). */
const hostileEvent = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => {
  let text = JSON.stringify(jobEvent({ inputs: { Source: 'key/a' }, outputs: { Out: 'key/b' }, userParameters: '{}' }));
  const event = JSON.parse(text);
  for (const { path, value } of mutations) {
    if (path.length === 0) continue;
    let node = event;
    for (const key of path.slice(0, -1)) {
      if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, key)) {
        node = undefined;
        break;
      }
      node = node[key];
    }
    if (typeof node === 'object' && node !== null) {
      Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
    }
  }
  text = JSON.stringify(event) ?? 'null';
  return JSON.parse(text);
});

describe('thrown values that JSON cannot carry', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  test.each([
    ['a circular object', circular],
    ['a BigInt', 12n],
    ['an object whose toJSON throws', { toJSON: () => { throw new Error('toJSON refused'); } }],
  ])('a handler throwing %s gets a JobFailed failure reported', async (_name, thrown) => {
    const handler = jobHandler({}, () => { throw thrown; });
    const outcome = await invoke(handler, jobEvent());
    expect(outcome).toMatchObject({ kind: 'failed', type: 'JobFailed' });
    expect((outcome as { message: string }).message).toMatch(/^The handler threw /);
  });
});

describe('events', () => {
  const handler = jobHandler({}, (job) => ({ summary: `inputs ${job.inputArtifactNames.length}` }));

  test('a valid event with hostile values anywhere ends in a success, a typed failure, or InvalidJobEventError without a job id', async () => {
    await fc.assert(
      fc.asyncProperty(hostileEvent, async (event) => {
        const outcome = await invoke(handler, event);
        if (outcome.kind === 'failed') expect(outcome.type).toBe('ConfigurationError');
      }),
      { numRuns: 120 },
    );
  });

  test('anything at all as an event: no exception but InvalidJobEventError escapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.record({ 'CodePipeline.job': fc.anything() })), async (event) => {
        const outcome = await invoke(handler, event);
        expect(['unreportable', 'failed']).toContain(outcome.kind);
      }),
      { numRuns: 80 },
    );
  });

  test('a job id with a bad field elsewhere still gets its failure reported', async () => {
    const event = jobEvent();
    event['CodePipeline.job'].data = { __proto__: { polluted: true } };
    const outcome = await invoke(handler, JSON.parse(JSON.stringify(event)));
    expect(outcome).toMatchObject({ kind: 'failed', type: 'ConfigurationError' });
  });

  test.each([
    ['a NUL byte', 'a\0b'],
    ['a path', '../../etc/passwd'],
    ['10 MB of text', 'j'.repeat(10 * 1024 * 1024)],
  ])('a job id holding %s is refused as InvalidJobEventError, and nothing is reported or retried', async (_name, id) => {
    const event = jobEvent();
    event['CodePipeline.job'].id = id;
    const requestsBefore = servers.jobApi.requests.length;
    const outcome = await invoke(handler, JSON.parse(JSON.stringify(event)));
    expect(outcome.kind).toBe('unreportable');
    expect((outcome as { error: Error }).error.message).toMatch(/CodePipeline\.job\.id must be a job id/);
    // No report was attempted, so none was retried (the old code retried a refused report for most of a minute).
    expect(servers.jobApi.requests.length).toBe(requestsBefore);
  });

  test('memory stays bounded over all the hostile cases (peak RSS under 1 GiB)', () => {
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(1024 ** 3);
  });
});
