/**
 * What both synth apps share: the stack, the source stage and the per-stage settings. Only the way each invoke stage is
 * built differs between the baseline and the candidate.
 */
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';

export const STACK_NAME = 'BenchPipeline';

/** The user's handler asset: one small folder shared by every stage, as a real app would have. */
export const HANDLER_ASSET_DIR = path.join(__dirname, 'handler-asset');

export const FUNCTION_SETTINGS = {
  runtime: lambda.Runtime.NODEJS_24_X,
  architecture: lambda.Architecture.ARM_64,
  handler: 'index.handler',
  timeout: Duration.minutes(5),
  memorySize: 512,
} as const;

/** The JSON Schema every stage's UserParameters follow (the candidate checks them at synth; the baseline cannot). */
export const USER_PARAMETERS_SCHEMA = {
  type: 'object',
  properties: {
    environment: { enum: ['dev', 'prod'] },
    retries: { type: 'integer', minimum: 0, maximum: 10 },
    stage: { type: 'integer', minimum: 0 },
    url: { type: 'string', format: 'uri' },
  },
  required: ['environment', 'retries'],
  additionalProperties: false,
};

export function userParametersOf(stage: number): Record<string, unknown> {
  return { environment: 'dev', retries: 3, stage, url: `https://example.com/stage/${stage}` };
}

export interface PipelineBase {
  readonly stack: Stack;
  readonly pipeline: codepipeline.Pipeline;
  readonly source: codepipeline.Artifact;
}

/** A stack with a pipeline whose first stage reads a zip from S3. */
export function pipelineWithSource(app: App): PipelineBase {
  const stack = new Stack(app, STACK_NAME, { env: { account: '123456789012', region: 'us-east-1' } });
  const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline');
  const source = new codepipeline.Artifact('Source');
  pipeline.addStage({
    stageName: 'Source',
    actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'source.zip', output: source })],
  });
  return { stack, pipeline, source };
}

/** The signature of both apps: build `stages` invoke stages into `app`. */
export type BuildPipeline = (app: App, stages: number) => void;
