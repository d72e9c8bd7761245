/**
 * The emulator's copy of the job-worker API shapes (src/local/job-api-shapes.ts) against the AWS API model it was
 * copied from (test/fixtures/aws/codepipeline-job-api-shapes.json, the `codepipeline-2015-07-09` model trimmed to the
 * job API) and against the limits the runtime and the constructs use (src/shared/limits.ts): the three cannot drift.
 */
import * as fs from 'fs';
import * as path from 'path';
import { JOB_API_SHAPES } from '../../src/local/job-api-shapes';
import {
  CONTINUATION_TOKEN_MAX_LENGTH,
  EXECUTION_SUMMARY_MAX_LENGTH,
  EXTERNAL_EXECUTION_ID_MAX_LENGTH,
  FAILURE_MESSAGE_MAX_LENGTH,
  FAILURE_TYPES,
  JOB_ID_PATTERN,
  OUTPUT_VARIABLE_NAME_PATTERN,
  PERCENT_COMPLETE_MAX,
  PERCENT_COMPLETE_MIN,
} from '../../src/shared/limits';

const model = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'aws', 'codepipeline-job-api-shapes.json'), 'utf8')) as {
  shapes: Record<string, Record<string, unknown>>;
};

const shape = (name: string) => JOB_API_SHAPES[name] as unknown as Record<string, unknown>;

test.each(Object.keys(JOB_API_SHAPES).filter((name) => name in model.shapes))('the emulator\'s %s has the AWS model\'s type and bounds', (name) => {
  const ours = shape(name);
  const theirs = model.shapes[name];
  expect(ours.type).toBe(theirs.type);
  for (const bound of ['min', 'max', 'pattern'] as const) {
    expect(ours[bound]).toEqual(theirs[bound]);
  }
});

test('every shape the two operations reach is in the AWS model, except the timestamp the trimmed model omits', () => {
  const missing = Object.keys(JOB_API_SHAPES).filter((name) => !(name in model.shapes));
  expect(missing).toEqual(['Time']);
});

test('the shared limits are the model\'s', () => {
  expect(shape('ContinuationToken').max).toBe(CONTINUATION_TOKEN_MAX_LENGTH);
  expect(shape('ExecutionSummary').max).toBe(EXECUTION_SUMMARY_MAX_LENGTH);
  expect(shape('ExecutionId').max).toBe(EXTERNAL_EXECUTION_ID_MAX_LENGTH);
  expect(shape('Message').max).toBe(FAILURE_MESSAGE_MAX_LENGTH);
  expect(shape('Percentage')).toMatchObject({ min: PERCENT_COMPLETE_MIN, max: PERCENT_COMPLETE_MAX });
  expect(shape('FailureType').enum).toEqual([...FAILURE_TYPES]);
  expect(`^${shape('OutputVariablesKey').pattern}$`).toBe(OUTPUT_VARIABLE_NAME_PATTERN.source);
});

test('every job id the model\'s pattern accepts is accepted by parseJobEvent\'s pattern', () => {
  const modelPattern = new RegExp(`^${shape('JobId').pattern}$`);
  for (const id of ['11111111-2222-4333-8444-555555555555', '0a1b2c3d-4e5f-6789-abcd-ef0123456789']) {
    expect(modelPattern.test(id)).toBe(true);
    expect(JOB_ID_PATTERN.test(id)).toBe(true);
  }
});
