/**
 * The synth candidate: the same pipeline as baseline-app.ts, each invoke stage built by `LambdaInvokeStage` with `code` +
 * `handler` (so it provisions a `PipelineJobFunction`: log group, job-result grant, crash reporting) and a
 * UserParameters schema checked at synth.
 */
import { App } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FUNCTION_SETTINGS, HANDLER_ASSET_DIR, USER_PARAMETERS_SCHEMA, pipelineWithSource, userParametersOf } from './pipeline-shape';
import { LambdaInvokeStage, UserParameters, UserParametersSchema } from '../../src';

export function build(app: App, stages: number): void {
  const { stack, pipeline, source } = pipelineWithSource(app);
  const code = lambda.Code.fromAsset(HANDLER_ASSET_DIR);
  const schema = UserParametersSchema.fromJsonSchema(USER_PARAMETERS_SCHEMA);
  for (let i = 0; i < stages; i++) {
    new LambdaInvokeStage(stack, `Invoke${i}`, {
      pipeline,
      stageName: `Invoke${i}`,
      actionName: 'Invoke',
      code,
      handler: FUNCTION_SETTINGS.handler,
      functionOptions: {
        timeout: FUNCTION_SETTINGS.timeout,
        memorySize: FUNCTION_SETTINGS.memorySize,
        // The suite also measures the cost of crash reporting alone (its onFailure destination and grant per function).
        reportCrashes: process.env.BENCH_REPORT_CRASHES !== 'false',
      },
      inputs: [source],
      outputs: [new codepipeline.Artifact(`Out${i}`)],
      userParameters: UserParameters.fromObject(userParametersOf(i)),
      userParametersSchema: schema,
    });
  }
}
