import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
// eslint-disable-next-line import/no-extraneous-dependencies -- a dependency of the user's app, ours only for development
import { z } from 'zod';
import { Params } from './params';
// In your app: import { LambdaInvokeStage, UserParameters, UserParametersSchema } from 'cdk-codepipeline-invoke';
import { LambdaInvokeStage, UserParameters, UserParametersSchema } from '../../../src';

/** The stack's side of the zod schema: its JSON Schema checks the UserParameters at synth. */
export function addHealthCheck(scope: Construct, pipeline: codepipeline.Pipeline, code: lambda.Code): LambdaInvokeStage {
  return new LambdaInvokeStage(scope, 'HealthCheck', {
    pipeline,
    stageName: 'HealthCheck',
    code,
    handler: 'index.handler',
    userParametersSchema: UserParametersSchema.fromJsonSchema(z.toJSONSchema(Params)),
    userParameters: UserParameters.fromObject({ environment: 'prod', url: 'https://example.com/health' }),
  });
}
