/**
 * Integ test: a pipeline with an S3 source and a LambdaInvokeStage whose function reads the source artifact and
 * writes an output variable. The assertions start an execution, wait until it succeeds and check the variable.
 *
 * Offline (CI): `npx projen integ` synthesizes this app and compares it with the committed snapshot
 * (test/integ.invoke-stage.ts.snapshot); nothing is deployed. With an AWS account: see the README ("Integration test").
 */
import * as path from 'path';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3_assets from 'aws-cdk-lib/aws-s3-assets';
import { LambdaInvokeStage, PipelineJobNodejsFunction, UserParameters, UserParametersSchema } from '../src';
import { versionCheckSchema } from './integ.invoke-stage.handler';

// What test/integ.invoke-stage.source/version.txt holds.
const VERSION = '1.2.3';

const app = new App();
const stack = new Stack(app, 'CdkCodepipelineInvokeIntegInvokeStage');

// Everything the test creates is deleted with the stack.
function temporaryBucket(id: string, props: s3.BucketProps = {}): s3.Bucket {
  return new s3.Bucket(stack, id, {
    ...props,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.DESTROY,
    autoDeleteObjects: true,
  });
}

const sourceBucket = temporaryBucket('SourceBucket', { versioned: true }); // an S3 source needs a versioned bucket
// The source: a zip of test/integ.invoke-stage.source (version.txt), published as a CDK asset and copied into the
// source bucket by the first assertion (server-side, so the zip arrives byte for byte).
const sourceZip = new s3_assets.Asset(stack, 'SourceZip', { path: path.join(__dirname, 'integ.invoke-stage.source') });
const SOURCE_KEY = 'source.zip';

const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
  pipelineType: codepipeline.PipelineType.V2,
  artifactBucket: temporaryBucket('ArtifactBucket'),
});
// CodePipeline starts a first execution when it creates the pipeline: it fails at Source (the object is copied into
// the bucket by the assertions only), and the execution the assertions start supersedes it.

const source = new codepipeline.Artifact('Source');
pipeline.addStage({
  stageName: 'Source',
  actions: [
    new codepipeline_actions.S3SourceAction({
      actionName: 'Fetch',
      bucket: sourceBucket,
      bucketKey: SOURCE_KEY,
      output: source,
      trigger: codepipeline_actions.S3Trigger.NONE, // the assertions start the execution
    }),
  ],
});

const check = new LambdaInvokeStage(stack, 'VersionCheck', {
  pipeline,
  stageName: 'VersionCheck',
  function: new PipelineJobNodejsFunction(stack, 'VersionCheckFunction', {
    entry: path.join(__dirname, 'integ.invoke-stage.handler.ts'),
    userParametersSchema: UserParametersSchema.fromJsonSchema(versionCheckSchema),
  }),
  userParameters: UserParameters.fromObject({ file: 'version.txt', prefix: 'v' }),
  inputs: [source],
  variablesNamespace: 'VersionCheck',
});

const integ = new IntegTest(app, 'InvokeStage', {
  testCases: [stack],
  // The bundled handler's asset hash may change with esbuild or the runtime: the snapshot compares the templates.
  diffAssets: false,
});

const copied = integ.assertions.awsApiCall('S3', 'copyObject', {
  Bucket: sourceBucket.bucketName,
  Key: SOURCE_KEY,
  CopySource: `${sourceZip.s3BucketName}/${sourceZip.s3ObjectKey}`,
});
// CopyObject needs read on the source object and write on the target (no s3:CopyObject IAM action exists).
copied.provider.addToRolePolicy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [sourceZip.bucket.arnForObjects(sourceZip.s3ObjectKey)] });
copied.provider.addToRolePolicy({ Effect: 'Allow', Action: ['s3:PutObject'], Resource: [sourceBucket.arnForObjects(SOURCE_KEY)] });

const started = integ.assertions.awsApiCall('CodePipeline', 'startPipelineExecution', { name: pipeline.pipelineName });
const executionId = started.getAttString('pipelineExecutionId');

const succeeded = integ.assertions
  .awsApiCall('CodePipeline', 'getPipelineExecution', {
    pipelineName: pipeline.pipelineName,
    pipelineExecutionId: executionId,
  })
  .expect(ExpectedResult.objectLike({ pipelineExecution: { status: 'Succeeded' } }))
  .waitForAssertions({ totalTimeout: Duration.minutes(15), interval: Duration.seconds(20) });

const invokeAction = integ.assertions
  .awsApiCall('CodePipeline', 'listActionExecutions', {
    pipelineName: pipeline.pipelineName,
    filter: { pipelineExecutionId: executionId },
  })
  .expect(
    ExpectedResult.objectLike({
      actionExecutionDetails: Match.arrayWith([
        Match.objectLike({
          stageName: 'VersionCheck',
          actionName: check.action.actionProperties.actionName,
          status: 'Succeeded',
          output: Match.objectLike({ outputVariables: { version: `v${VERSION}` } }),
        }),
      ]),
    }),
  );

copied.next(started).next(succeeded).next(invokeAction);

app.synth();
