/**
 * UserParameters that CodePipeline's textual substitution broke (aws-cdk #31213): the scanner agrees with JSON.parse on
 * what is JSON (property-based, JSON.parse as the oracle), and the job failure says where the JSON broke, why it may
 * have, and what to do, through the real SDK client against the job-API emulator.
 */
import * as fc from 'fast-check';
import { z } from 'zod';
import type { JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, PipelineJobHandler } from '../../src/runtime';
import { describeUnparsableJson, findJsonBreak } from '../../src/shared/json-error';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();

/** What CodePipeline sends for `{"message":"#{SourceVariables.CommitMessage}"}` after a commit 'Fix "quoted" names'. */
const SUBSTITUTED = '{"environment":"prod","message":"Fix "quoted" names"}';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('finding where JSON breaks', () => {
  test('valid JSON of any shape has no break (JSON.stringify output, with any whitespace)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, 2, '\t'), (value, indent) => {
        expect(findJsonBreak(JSON.stringify(value, null, indent))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test('a text has a break exactly when JSON.parse rejects it (valid JSON with one character inserted, deleted or replaced)', () => {
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('"', '\\', '\n', '}', ',', ':', 'x', ' ', '\u0001'), fc.constantFrom('insert', 'delete', 'replace'))
      .map(([text, at, char, how]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        if (how === 'insert') return text.slice(0, i) + char + text.slice(i);
        if (how === 'delete') return text.slice(0, i) + text.slice(i + 1);
        return text.slice(0, i) + char + text.slice(i + 1);
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string()), (text) => {
        const found = findJsonBreak(text);
        expect(found === undefined).toBe(parses(text));
        if (found !== undefined) expect(found.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 1000 },
    );
  });

  test('the break of a substituted commit message is the quote that ended its string early', () => {
    expect(findJsonBreak(SUBSTITUTED)).toEqual({ offset: SUBSTITUTED.indexOf('quoted'), line: 1, column: SUBSTITUTED.indexOf('quoted') + 1, expected: "',' or '}' after a property value" });
  });

  test('a raw line break inside a string is named as such', () => {
    expect(findJsonBreak('{"message":"first line\nsecond line"}')).toMatchObject({ line: 1, column: 23, expected: expect.stringMatching(/raw control character/) });
  });

  test('the message quotes the context around the break and marks it', () => {
    expect(describeUnparsableJson(SUBSTITUTED)).toContain('in …:"prod","message":"Fix "⟨here⟩quoted" names"}');
  });
});

describe('a job whose UserParameters a substituted value broke', () => {
  async function failureOf(handler: PipelineJobHandler): Promise<{ type?: string; message?: string }> {
    const event = jobEvent({ userParameters: SUBSTITUTED });
    const jobId: string = event['CodePipeline.job'].id;
    servers.jobApi.registerJob(jobId);
    await captureLogs(() => handler(event, { awsRequestId: 'r', getRemainingTimeInMillis: () => 30_000 }));
    const job = servers.jobApi.job(jobId) as JobRecord;
    expect(job.status).toBe('Failed');
    return job.results[job.results.length - 1].failureDetails ?? {};
  }

  const jsonSchema = { type: 'object', properties: { environment: { type: 'string' }, message: { type: 'string' } } };

  test.each([
    ['a JSON Schema', jobHandler({ schema: jsonSchema }, () => undefined)],
    ['a zod schema', jobHandler({ schema: z.object({ environment: z.string(), message: z.string() }) }, () => undefined)],
  ])('with %s, fails as a ConfigurationError saying where, why and what to do', async (_kind, handler) => {
    const failure = await failureOf(handler);
    expect(failure.type).toBe('ConfigurationError');
    expect(failure.message).toMatch(/^UserParameters: \(root\): is not valid JSON at character 39 \(line 1, column 39\): expected ',' or '}' after a property value, found "q"/);
    expect(failure.message).toContain('"Fix "⟨here⟩quoted');
    expect(failure.message).toMatch(/substitutes #\{Namespace\.Variable\} references textually/);
    expect(failure.message).toMatch(/Pass such values through an artifact, or reference the variable outside a JSON string/);
  });
});
