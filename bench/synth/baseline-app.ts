/**
 * The synth baseline: the pipeline a careful user writes with plain aws-cdk-lib — per stage one `lambda.Function` (the
 * candidate's runtime, architecture, timeout and memory), its log group with retention, the job-result grant written
 * by hand, and a `LambdaInvokeAction` with the same inputs, outputs and UserParameters. What the library adds on top is
 * what the ratio measures: per function an async-invoke configuration (`retryAttempts: 0` and the crash reporter as
 * on-failure destination, with its invoke grant), the synth-time schema check, the cdk-nag suppressions, and one
 * crash reporter function per stack.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FUNCTION_SETTINGS, HANDLER_ASSET_DIR, pipelineWithSource, userParametersOf } from './pipeline-shape';

export function build(app: App, stages: number): void {
  const { stack, pipeline, source } = pipelineWithSource(app);
  const code = lambda.Code.fromAsset(HANDLER_ASSET_DIR);
  for (let i = 0; i < stages; i++) {
    const fn = userFunction(stack, i, code);
    pipeline.addStage({
      stageName: `Invoke${i}`,
      actions: [
        new actions.LambdaInvokeAction({
          actionName: 'Invoke',
          lambda: fn,
          inputs: [source],
          outputs: [new codepipeline.Artifact(`Out${i}`)],
          userParameters: userParametersOf(i),
        }),
      ],
    });
  }
}

function userFunction(stack: Stack, stage: number, code: lambda.Code): lambda.Function {
  const logGroup = new logs.LogGroup(stack, `Fn${stage}Logs`, { retention: logs.RetentionDays.ONE_MONTH });
  const fn = new lambda.Function(stack, `Fn${stage}`, { ...FUNCTION_SETTINGS, code, logGroup });
  // Hand-written: PutJobSuccessResult/PutJobFailureResult support no resource-level permissions (aws-cdk #42).
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
      resources: ['*'],
    }),
  );
  return fn;
}
