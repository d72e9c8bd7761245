/**
 * The shared limits against the AWS API model they come from (test/fixtures/aws/codepipeline-job-api-shapes.json, the
 * `codepipeline-2015-07-09` model trimmed to the job API). The emulator's shapes reuse these values, so this is where
 * they meet the model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FAILURE_TYPES } from '../../src/shared/limits';

const model = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'aws', 'codepipeline-job-api-shapes.json'), 'utf8')) as {
  shapes: Record<string, { enum?: string[] }>;
};

test('the failure types are the AWS model\'s FailureType enum, in its order', () => {
  expect([...FAILURE_TYPES]).toEqual(model.shapes.FailureType.enum);
});
