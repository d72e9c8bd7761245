/**
 * A CDK Pipelines app that runs Lambda functions as pipeline steps:
 * - after each deployment of the web stage, a smoke test requests the URL the stage just deployed (a stack output,
 *   resolved by CodePipeline into the function's UserParameters);
 * - before production, a function writes release notes from the source into a file set that a ShellStep publishes,
 *   with the version the function returned as an output variable.
 */
import * as path from 'path';
import { CfnOutput, Stack, StackProps, Stage, StageProps } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
// In your app: import { ... } from 'cdk-codepipeline-invoke';
import { LambdaInvokeStep, PipelineJobNodejsFunction, UserParameters, UserParametersSchema } from '../../src';
import { releaseNotesSchema, smokeTestSchema } from './schemas';

/** The application the pipeline deploys: one stack with a function URL. */
export class WebStage extends Stage {
  /** The URL of the deployed site: the smoke test requests it. */
  public readonly siteUrl: CfnOutput;

  constructor(scope: Construct, id: string, props?: StageProps) {
    super(scope, id, props);
    const stack = new Stack(this, 'Web');
    const site = new nodejs.NodejsFunction(stack, 'Site', {
      entry: path.join(__dirname, 'site.ts'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      environment: { STAGE_NAME: id },
    });
    const url = site.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.siteUrl = new CfnOutput(stack, 'SiteUrl', { value: url.url });
  }
}

export interface PipelineStackProps extends StackProps {
  /** The source repository, 'owner/name'. */
  readonly repository: string;
  /** The branch to deploy. */
  readonly branch: string;
  /** The ARN of the CodeConnections connection to the repository host. */
  readonly connectionArn: string;
}

/** The pipeline: synth, Beta with a smoke test, then Prod with release notes before and a smoke test after. */
export class PipelineStack extends Stack {
  public readonly pipeline: pipelines.CodePipeline;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);

    const source = pipelines.CodePipelineSource.connection(props.repository, props.branch, {
      connectionArn: props.connectionArn,
    });
    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      synth: new pipelines.ShellStep('Synth', {
        input: source,
        commands: ['npm ci', 'npx cdk synth'],
      }),
    });

    // The job functions live in the pipeline's stack: the pipeline must be able to invoke them before any stage exists.
    const smokeTest = new PipelineJobNodejsFunction(this, 'SmokeTest', {
      entry: path.join(__dirname, 'smoke-test.ts'),
      userParametersSchema: UserParametersSchema.fromJsonSchema(smokeTestSchema),
    });
    const releaseNotes = new PipelineJobNodejsFunction(this, 'ReleaseNotes', {
      entry: path.join(__dirname, 'release-notes.ts'),
      userParametersSchema: UserParametersSchema.fromJsonSchema(releaseNotesSchema),
    });

    const beta = new WebStage(this, 'Beta');
    this.pipeline.addStage(beta, { post: [smokeTestOf(beta, smokeTest)] });

    const notes = new LambdaInvokeStep('ReleaseNotes', {
      function: releaseNotes,
      input: source,
      primaryOutput: true,
      userParameters: UserParameters.fromObject({ product: 'Example site' }),
    });
    const publishNotes = new pipelines.ShellStep('PublishReleaseNotes', {
      input: notes,
      env: { VERSION: notes.variable('version') },
      commands: ['echo "Releasing $VERSION"', 'cat release-notes.md'],
    });
    const prod = new WebStage(this, 'Prod');
    this.pipeline.addStage(prod, {
      pre: [notes, publishNotes],
      post: [smokeTestOf(prod, smokeTest)],
    });
  }
}

/** A step that checks the stage's site after its deployment. */
function smokeTestOf(stage: WebStage, fn: PipelineJobNodejsFunction): LambdaInvokeStep {
  return new LambdaInvokeStep('SmokeTest', {
    function: fn,
    userParameters: UserParameters.fromObject({
      url: stage.siteUrl, // a CfnOutput of the stage: CodePipeline substitutes the deployed URL
      expectStatus: 200,
      expectText: 'ok',
      attempts: 3,
    }),
  });
}
