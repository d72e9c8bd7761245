import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';

export const JOB_RESULT_ACTIONS = ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'];

/** A stack in an app writing its assembly under ./tmp (TMPDIR from test/setup-env.ts). */
export function newStack(id = 'Stack'): Stack {
  const app = new App();
  return new Stack(app, id, { env: { account: '111111111111', region: 'eu-west-1' } });
}

export interface PipelineFixture {
  readonly stack: Stack;
  readonly pipeline: codepipeline.Pipeline;
  readonly source: codepipeline.Artifact;
}

/** A pipeline with an S3 source stage, the smallest pipeline a stage can be added to. */
export function stackWithPipeline(options: { crossAccountKeys?: boolean } = {}): PipelineFixture {
  const stack = newStack();
  const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
  const source = new codepipeline.Artifact('Source');
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', { crossAccountKeys: options.crossAccountKeys ?? false });
  pipeline.addStage({
    stageName: 'Source',
    actions: [new codepipeline_actions.S3SourceAction({ actionName: 'Fetch', bucket, bucketKey: 'source.zip', output: source })],
  });
  return { stack, pipeline, source };
}

/** Inline code: no asset to stage (the job function's code is the user's business). */
export const inlineCode = lambda.Code.fromInline('exports.handler = async () => undefined;');

export const minimalHandlerEntry = path.join(__dirname, '..', 'fixtures', 'constructs', 'minimal-handler.ts');

/** The logical id of the one resource of a type whose properties match. */
export function logicalIdOf(template: Template, type: string, props: object): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  if (found.length !== 1) {
    throw new Error(`expected one ${type} matching, found ${found.length}`);
  }
  return found[0];
}

/**
 * Every allowed action of every policy document (IAM policies, bucket policies) and roles' inline policies. Key
 * policies are left out: CDK's default key policy delegates to IAM with kms:* for the account root, not ours to change.
 */
export function allIamActions(template: Template): string[] {
  const actions: string[] = [];
  const collect = (statements: unknown) => {
    for (const statement of (statements as Array<{ Effect: string; Action?: string | string[] }>) ?? []) {
      if (statement.Effect === 'Allow') {
        actions.push(...([] as string[]).concat(statement.Action ?? []));
      }
    }
  };
  for (const resource of Object.values(template.toJSON().Resources as Record<string, any>)) {
    const props = resource.Properties ?? {};
    collect(props.PolicyDocument?.Statement);
    for (const policy of props.Policies ?? []) {
      collect(policy.PolicyDocument?.Statement);
    }
  }
  return actions;
}
