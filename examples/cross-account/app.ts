/**
 * A two-account CDK Pipelines app: the pipeline lives in a tools account, the application and its smoke test in a
 * workload account. The smoke test runs after the application's stage, in the workload account, and reports its job
 * to the pipeline in the tools account through the job-result role the library creates there.
 *
 * Deployment order (`cdk deploy --all` follows it): SmokeTestStack (workload account), then the pipeline (tools
 * account), which deploys the Prod stage (workload account) and then runs the smoke test.
 */
import * as path from 'path';
import { Environment, Stack, StackProps } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
// In your app: import { ... } from 'cdk-codepipeline-invoke';
import { LambdaInvokeStep, PipelineJobNodejsFunction, UserParameters, UserParametersSchema } from '../../src';
import { WebStage } from '../pipelines/app';
import { smokeTestSchema } from '../pipelines/schemas';

/**
 * The smoke test function, in the workload account. A stack of its own, deployed before the pipeline: the pipeline
 * refers to the function (and to the role CodePipeline assumes to invoke it) from its first deployment on.
 */
export class SmokeTestStack extends Stack {
  public readonly smokeTest: PipelineJobNodejsFunction;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    // Nothing about accounts here: a function used by a pipeline in another account gets a generated name, and its
    // role, the job-result role's ARN in its environment and sts:AssumeRole on it when the step below binds it.
    this.smokeTest = new PipelineJobNodejsFunction(this, 'SmokeTest', {
      entry: path.join(__dirname, '..', 'pipelines', 'smoke-test.ts'),
      userParametersSchema: UserParametersSchema.fromJsonSchema(smokeTestSchema),
    });
  }
}

export interface CrossAccountPipelineStackProps extends StackProps {
  readonly workload: Environment;
  readonly smokeTest: PipelineJobNodejsFunction;
  readonly repository: string;
  readonly connectionArn: string;
}

/** The pipeline, in the tools account: deploys Prod to the workload account, then runs the smoke test there. */
export class CrossAccountPipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: CrossAccountPipelineStackProps) {
    super(scope, id, props);
    const pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      // Artifacts encrypted with a KMS key the workload account may use: required for any cross-account action.
      crossAccountKeys: true,
      synth: new pipelines.ShellStep('Synth', {
        input: pipelines.CodePipelineSource.connection(props.repository, 'main', { connectionArn: props.connectionArn }),
        commands: ['npm ci', 'npx cdk synth'],
      }),
    });
    const prod = new WebStage(this, 'Prod', { env: props.workload });
    pipeline.addStage(prod, {
      post: [
        new LambdaInvokeStep('SmokeTest', {
          function: props.smokeTest,
          userParameters: UserParameters.fromObject({ url: prod.siteUrl, expectStatus: 200, expectText: 'ok', attempts: 3 }),
        }),
      ],
    });
  }
}
