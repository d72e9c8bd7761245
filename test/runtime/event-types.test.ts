/**
 * Type-level contract: the parsed event is assignable to `CodePipelineEvent` of `@types/aws-lambda`, so handlers
 * written against those types accept it. `tsc --noEmit -p tsconfig.dev.json` checks this file; the runtime test makes
 * sure the file also runs.
 */
import type { CodePipelineEvent, CodePipelineHandler } from 'aws-lambda';
import { CodePipelineJobEvent, parseJobEvent } from '../../src/shared/event';
import { fixtureEvent } from '../support/job-event';

type IsAssignable<From, To> = [From] extends [To] ? true : false;
function assertType<T extends true>(_proof: T): void {}

test('CodePipelineJobEvent is assignable to @types/aws-lambda CodePipelineEvent', () => {
  assertType<IsAssignable<CodePipelineJobEvent, CodePipelineEvent>>(true);
  // @ts-expect-error proves the check can fail: a number is no event
  assertType<IsAssignable<number, CodePipelineEvent>>(true);
  // @ts-expect-error and an event is not just any object: the type keeps its shape
  assertType<IsAssignable<{ 'CodePipeline.job': { id: string } }, CodePipelineJobEvent>>(true);
});

test('a parsed fixture can be handed to a handler typed with @types/aws-lambda', async () => {
  const raw = fixtureEvent('powertools-python-codePipelineEventData.json');
  const seen: string[] = [];
  const handler: CodePipelineHandler = async (event) => {
    seen.push(event['CodePipeline.job'].data.inputArtifacts[0].location.s3Location.bucketName);
  };
  const event: CodePipelineEvent = parseJobEvent(raw);
  await handler(event, {} as any, () => undefined);
  expect(seen).toEqual(['us-west-2-123456789012-my-pipeline']);
});
