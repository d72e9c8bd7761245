/**
 * The app entry (`cdk synth` in this folder). Account, region, repository and connection come from the environment
 * (or context) so the example synthesizes anywhere, offline, without an AWS account.
 */
import { App } from 'aws-cdk-lib';
import { PipelineStack } from './app';

const app = new App();
new PipelineStack(app, 'InvokeExamplePipeline', {
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111',
    region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1',
  },
  repository: app.node.tryGetContext('repository') ?? 'my-org/my-site',
  branch: app.node.tryGetContext('branch') ?? 'main',
  connectionArn:
    app.node.tryGetContext('connectionArn') ??
    'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000',
});
app.synth();
