/**
 * Integ test: a LambdaInvokeStage whose function lives in another account than the pipeline. The function reads the
 * source artifact (KMS-encrypted: crossAccountKeys), reports through the job-result role the library creates in the
 * pipeline's account, and sets an output variable; the assertions start an execution, wait until it succeeds and
 * check the variable.
 *
 * Offline (CI): `npx projen integ` synthesizes this app and compares it with the committed snapshot
 * (test/integ.cross-account.ts.snapshot); nothing is deployed. With two AWS accounts, the function's account
 * bootstrapped with `--trust <pipeline account>`: set INTEG_PIPELINE_ACCOUNT, INTEG_FUNCTION_ACCOUNT and INTEG_REGION,
 * then `npx projen integ:deploy --test-regex '^integ\.cross-account\.ts$'` with credentials of the pipeline's account.
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
const region = process.env.INTEG_REGION ?? 'eu-west-1';
const pipelineEnv = { account: process.env.INTEG_PIPELINE_ACCOUNT ?? '111111111111', region };
const functionEnv = { account: process.env.INTEG_FUNCTION_ACCOUNT ?? '222222222222', region };

const app = new App();
// The function's stack: deployed first (the pipeline refers to the function and to the role that invokes it).
const functionStack = new Stack(app, 'CdkCodepipelineInvokeIntegCrossAccountFunction', { env: functionEnv });
const fn = new PipelineJobNodejsFunction(functionStack, 'VersionCheckFunction', {
  entry: path.join(__dirname, 'integ.invoke-stage.handler.ts'),
  userParametersSchema: UserParametersSchema.fromJsonSchema(versionCheckSchema),
});

const stack = new Stack(app, 'CdkCodepipelineInvokeIntegCrossAccountPipeline', { env: pipelineEnv });

function temporaryBucket(id: string, props: s3.BucketProps = {}): s3.Bucket {
  return new s3.Bucket(stack, id, {
    ...props,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.DESTROY,
    autoDeleteObjects: true,
  });
}

const sourceBucket = temporaryBucket('SourceBucket', { versioned: true });
const sourceZip = new s3_assets.Asset(stack, 'SourceZip', { path: path.join(__dirname, 'integ.invoke-stage.source') });
const SOURCE_KEY = 'source.zip';

const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
  pipelineType: codepipeline.PipelineType.V2,
  // A cross-account invoke needs artifacts encrypted with a key the function's account may use.
  crossAccountKeys: true,
  enableKeyRotation: true,
});
const source = new codepipeline.Artifact('Source');
pipeline.addStage({
  stageName: 'Source',
  actions: [
    new codepipeline_actions.S3SourceAction({
      actionName: 'Fetch',
      bucket: sourceBucket,
      bucketKey: SOURCE_KEY,
      output: source,
      trigger: codepipeline_actions.S3Trigger.NONE,
    }),
  ],
});

const check = new LambdaInvokeStage(stack, 'VersionCheck', {
  pipeline,
  stageName: 'VersionCheck',
  function: fn,
  userParameters: UserParameters.fromObject({ file: 'version.txt', prefix: 'v' }),
  inputs: [source],
  variablesNamespace: 'VersionCheck',
});

const integ = new IntegTest(app, 'CrossAccount', {
  testCases: [functionStack, stack],
  // The assertions call the pipeline's account: their stack is there too.
  assertionStack: new Stack(app, 'CdkCodepipelineInvokeIntegCrossAccountAssertions', { env: pipelineEnv }),
  diffAssets: false,
});

const copied = integ.assertions.awsApiCall('S3', 'copyObject', {
  Bucket: sourceBucket.bucketName,
  Key: SOURCE_KEY,
  CopySource: `${sourceZip.s3BucketName}/${sourceZip.s3ObjectKey}`,
});
copied.provider.addToRolePolicy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [sourceZip.bucket.arnForObjects(sourceZip.s3ObjectKey)] });
copied.provider.addToRolePolicy({ Effect: 'Allow', Action: ['s3:PutObject'], Resource: [sourceBucket.arnForObjects(SOURCE_KEY)] });

const started = integ.assertions.awsApiCall('CodePipeline', 'startPipelineExecution', { name: pipeline.pipelineName });
const executionId = started.getAttString('pipelineExecutionId');

const succeeded = integ.assertions
  .awsApiCall('CodePipeline', 'getPipelineExecution', { pipelineName: pipeline.pipelineName, pipelineExecutionId: executionId })
  .expect(ExpectedResult.objectLike({ pipelineExecution: { status: 'Succeeded' } }))
  .waitForAssertions({ totalTimeout: Duration.minutes(15), interval: Duration.seconds(20) });

// The variable can only be there if the function reported the job: through the job-result role, from account B.
const invokeAction = integ.assertions
  .awsApiCall('CodePipeline', 'listActionExecutions', { pipelineName: pipeline.pipelineName, filter: { pipelineExecutionId: executionId } })
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
