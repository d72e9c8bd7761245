/**
 * The app entry (`cdk synth` in this folder). The accounts come from the context (or the defaults below), so the
 * example synthesizes anywhere, offline: `cdk synth -c toolsAccount=111111111111 -c workloadAccount=222222222222`.
 */
import { App } from 'aws-cdk-lib';
import { CrossAccountPipelineStack, SmokeTestStack } from './app';

const app = new App();
const region = app.node.tryGetContext('region') ?? 'eu-west-1';
const tools = { account: app.node.tryGetContext('toolsAccount') ?? '111111111111', region };
const workload = { account: app.node.tryGetContext('workloadAccount') ?? '222222222222', region };

const smokeTest = new SmokeTestStack(app, 'SmokeTestStack', { env: workload });
new CrossAccountPipelineStack(app, 'CrossAccountPipeline', {
  env: tools,
  workload,
  smokeTest: smokeTest.smokeTest,
  repository: app.node.tryGetContext('repository') ?? 'my-org/my-site',
  connectionArn:
    app.node.tryGetContext('connectionArn') ??
    'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000',
});
app.synth();
