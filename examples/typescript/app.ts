/**
 * A complete pipeline with a Lambda invoke stage:
 *
 *   Source (S3: app.zip) -> ReleaseCheck (Lambda, typed UserParameters) -> Approve (shows the checked version)
 *
 * Synthesize it with `npx cdk synth` in this folder, or in-process with `npx projen demo` from the repository root.
 */
import * as path from 'path';
import { App, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { releaseCheckSchema } from './schema';
// In your app: import { ... } from 'cdk-codepipeline-invoke';
import { LambdaInvokeStage, PipelineJobNodejsFunction, UserParameters, UserParametersSchema } from '../../src';

export class ReleasePipelineStack extends Stack {
  /** The stage that runs the release check. */
  public readonly releaseCheck: LambdaInvokeStage;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const sourceBucket = new s3.Bucket(this, 'SourceBucket', {
      versioned: true, // an S3 source action needs a versioned bucket
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const source = new codepipeline.Artifact('Source');
    const report = new codepipeline.Artifact('Report');

    const pipeline = new codepipeline.Pipeline(this, 'Pipeline', { pipelineType: codepipeline.PipelineType.V2 });
    pipeline.addStage({
      stageName: 'Source',
      actions: [
        new codepipeline_actions.S3SourceAction({ actionName: 'Fetch', bucket: sourceBucket, bucketKey: 'app.zip', output: source }),
      ],
    });

    // The schema literal is shared with the handler (./schema.ts): synth checks the parameters below against it.
    const schema = UserParametersSchema.fromJsonSchema(releaseCheckSchema);
    this.releaseCheck = new LambdaInvokeStage(this, 'ReleaseCheck', {
      pipeline,
      stageName: 'ReleaseCheck',
      function: new PipelineJobNodejsFunction(this, 'ReleaseCheckFunction', {
        entry: path.join(__dirname, 'handler.ts'),
        userParametersSchema: schema,
      }),
      userParameters: UserParameters.fromObject({
        environment: 'prod',
        manifest: 'app.json',
        requiredFiles: ['index.html'],
        executionId: '#{codepipeline.PipelineExecutionId}',
      }),
      inputs: [source],
      outputs: [report],
      variablesNamespace: 'ReleaseCheck',
    });

    pipeline.addStage({
      stageName: 'Approve',
      actions: [
        new codepipeline_actions.ManualApprovalAction({
          actionName: 'Approve',
          additionalInformation: `Release ${this.releaseCheck.variable('version')} passed its checks.`,
        }),
      ],
    });
  }
}

/** Builds the example app (the demo and the snapshot test call this; `cdk synth` runs the file). */
export function buildApp(app: App = new App()): { app: App; stack: ReleasePipelineStack } {
  const stack = new ReleasePipelineStack(app, 'ReleasePipeline');
  return { app, stack };
}

if (require.main === module) {
  buildApp().app.synth();
}
