import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PipelineStack } from '../../examples/pipelines/app';

// The example CDK Pipelines app (examples/pipelines), synthesized once; each test checks one thing of its template.

interface PipelineAction {
  readonly Name: string;
  readonly RunOrder: number;
  readonly ActionTypeId: { Category: string; Provider: string };
  readonly Configuration?: Record<string, unknown>;
  readonly InputArtifacts?: Array<{ Name: string }>;
  readonly OutputArtifacts?: Array<{ Name: string }>;
  readonly Namespace?: string;
}

let template: Template;

beforeAll(() => {
  const app = new App({
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'step-example-')),
    // The handlers are bundled by esbuild at a real synth; the template's shape does not depend on their code.
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new PipelineStack(app, 'InvokeExamplePipeline', {
    env: { account: '111111111111', region: 'eu-west-1' },
    repository: 'my-org/my-site',
    branch: 'main',
    connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000',
  });
  template = Template.fromStack(stack);
});

function stageActions(stageName: string): PipelineAction[] {
  const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  const stage = (pipeline.Properties.Stages as Array<{ Name: string; Actions: PipelineAction[] }>).find(
    (s) => s.Name === stageName,
  );
  if (!stage) {
    throw new Error(`no stage ${stageName}`);
  }
  return stage.Actions;
}

function actionNamed(stageName: string, name: string): PipelineAction {
  const found = stageActions(stageName).find((a) => a.Name === name);
  if (!found) {
    throw new Error(`no action ${name} in ${stageName}: ${stageActions(stageName).map((a) => a.Name).join(', ')}`);
  }
  return found;
}

function deployOf(stageName: string): PipelineAction {
  const found = stageActions(stageName).filter((a) => a.Configuration?.ActionMode === 'CHANGE_SET_EXECUTE');
  expect(found).toHaveLength(1);
  return found[0];
}

test('the pipeline runs the smoke test in Beta after the deployment, with the deployed URL in its UserParameters', () => {
  const deploy = deployOf('Beta');
  const smokeTest = actionNamed('Beta', 'SmokeTest');

  expect(smokeTest.ActionTypeId).toEqual(expect.objectContaining({ Category: 'Invoke', Provider: 'Lambda' }));
  expect(smokeTest.RunOrder).toBeGreaterThan(deploy.RunOrder);
  expect(JSON.parse(smokeTest.Configuration?.UserParameters as string)).toEqual({
    url: `#{${deploy.Namespace}.SiteUrl}`,
    expectStatus: 200,
    expectText: 'ok',
    attempts: 3,
  });
});

test('the Prod smoke test reads the URL captured by the Prod deployment, not the Beta one', () => {
  const prodNamespace = deployOf('Prod').Namespace;

  expect(prodNamespace).not.toBe(deployOf('Beta').Namespace);
  expect(JSON.parse(actionNamed('Prod', 'SmokeTest').Configuration?.UserParameters as string).url).toBe(
    `#{${prodNamespace}.SiteUrl}`,
  );
});

test('the release notes step reads the source and its output file set is the input of the publishing ShellStep', () => {
  const notes = actionNamed('Prod', 'ReleaseNotes');
  const publish = actionNamed('Prod', 'PublishReleaseNotes');
  const sourceOutput = stageActions('Source')[0].OutputArtifacts?.[0].Name;

  expect(notes.InputArtifacts).toEqual([{ Name: sourceOutput }]);
  expect(notes.OutputArtifacts).toEqual([{ Name: 'ReleaseNotes_Output' }]);
  expect(publish.InputArtifacts).toEqual([{ Name: 'ReleaseNotes_Output' }]);
  expect(publish.RunOrder).toBeGreaterThan(notes.RunOrder);
  expect(publish.RunOrder).toBeLessThan(deployOf('Prod').RunOrder);
});

test('the publishing ShellStep receives the version output variable of the release notes step', () => {
  expect(actionNamed('Prod', 'ReleaseNotes').Namespace).toBe('ReleaseNotes');
  expect(JSON.parse(actionNamed('Prod', 'PublishReleaseNotes').Configuration?.EnvironmentVariables as string)).toEqual(
    expect.arrayContaining([{ name: 'VERSION', type: 'PLAINTEXT', value: '#{ReleaseNotes.version}' }]),
  );
});

test('both job functions may report job results and the pipeline may invoke them', () => {
  for (const fn of ['SmokeTest', 'ReleaseNotes']) {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp(`^${fn}ServiceRole`) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
            Resource: '*',
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${fn}[0-9A-F]{8}$`), 'Arn'] }]),
          }),
        ]),
      },
    });
  }
});

test('the pipeline stack template matches the snapshot (asset hashes stripped)', () => {
  // Asset hashes, and the destination ids cdk-assets derives from them, vary with the checkout's path.
  const json = JSON.stringify(template.toJSON(), null, 2)
    .replace(/[0-9a-f]{64}/g, '<hash>')
    .replace(/(current_account-current_region)-[0-9a-f]{8}/g, '$1-<hash>');

  expect(JSON.parse(json)).toMatchSnapshot();
});
