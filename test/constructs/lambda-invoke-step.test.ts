import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnOutput, Stack, Stage, StageProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { LambdaInvokeStep, LambdaInvokeStepProps } from '../../src/lambda-invoke-step';
import { IPipelineJobFunction, PipelineJobFunction } from '../../src/pipeline-job-function';
import { UserParameters } from '../../src/user-parameters';
import { UserParametersSchema } from '../../src/user-parameters-schema';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/** A stage the pipeline deploys: one stack with an output, as a web app with its URL. */
class WebStage extends Stage {
  public readonly url: CfnOutput;
  public readonly bucket: CfnOutput;
  constructor(scope: Construct, id: string, props?: StageProps) {
    super(scope, id, props);
    const stack = new Stack(this, 'Web');
    this.url = new CfnOutput(stack, 'Url', { value: 'https://example.com' });
    this.bucket = new CfnOutput(stack, 'BucketName', { value: 'web-bucket' });
  }
}

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly pipeline: pipelines.CodePipeline;
  readonly synth: pipelines.ShellStep;
  readonly fn: lambda.Function;
}

function pipelineFixture(): Fixture {
  const app = new App({
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-invoke-step-')),
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'PipelineStack', { env: ENV });
  const synth = new pipelines.ShellStep('Synth', {
    input: pipelines.CodePipelineSource.connection('org/repo', 'main', {
      connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abc',
    }),
    commands: ['npm ci', 'npx cdk synth'],
  });
  const pipeline = new pipelines.CodePipeline(stack, 'Pipeline', { synth });
  const fn = new lambda.Function(stack, 'SmokeTestFunction', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  return { app, stack, pipeline, synth, fn };
}

function step(fixture: Fixture, id: string, props: Partial<LambdaInvokeStepProps> = {}): LambdaInvokeStep {
  return new LambdaInvokeStep(id, { function: fixture.fn, ...props });
}

interface PipelineAction {
  readonly Name: string;
  readonly RunOrder: number;
  readonly ActionTypeId: { Category: string; Provider: string };
  readonly Configuration?: Record<string, unknown>;
  readonly InputArtifacts?: Array<{ Name: string }>;
  readonly OutputArtifacts?: Array<{ Name: string }>;
  readonly Namespace?: string;
}

function pipelineStages(template: Template): Array<{ Name: string; Actions: PipelineAction[] }> {
  const pipelinesFound = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  expect(pipelinesFound).toHaveLength(1);
  return pipelinesFound[0].Properties.Stages;
}

function actionsOf(template: Template, stageName: string): PipelineAction[] {
  const stage = pipelineStages(template).find((s) => s.Name === stageName);
  if (!stage) {
    throw new Error(`no stage ${stageName}: ${pipelineStages(template).map((s) => s.Name).join(', ')}`);
  }
  return stage.Actions;
}

function action(template: Template, stageName: string, actionName: string): PipelineAction {
  const found = actionsOf(template, stageName).find((a) => a.Name === actionName);
  if (!found) {
    throw new Error(`no action ${actionName} in ${stageName}: ${actionsOf(template, stageName).map((a) => a.Name).join(', ')}`);
  }
  return found;
}

/** The action that executes the change set of the stack of a stage (its name depends on what else is in the stage). */
function deployAction(template: Template, stageName: string, stackNamePrefix = stageName): PipelineAction {
  return changeSetAction(template, stageName, stackNamePrefix, 'CHANGE_SET_EXECUTE');
}

function prepareAction(template: Template, stageName: string, stackNamePrefix = stageName): PipelineAction {
  return changeSetAction(template, stageName, stackNamePrefix, 'CHANGE_SET_REPLACE');
}

function changeSetAction(template: Template, stageName: string, stackNamePrefix: string, mode: string): PipelineAction {
  const found = actionsOf(template, stageName).filter(
    (a) =>
      a.ActionTypeId.Provider === 'CloudFormation' &&
      a.Configuration?.ActionMode === mode &&
      String(a.Configuration?.StackName).startsWith(`${stackNamePrefix}-`),
  );
  expect(found).toHaveLength(1);
  return found[0];
}

function userParametersOf(a: PipelineAction): unknown {
  return JSON.parse(a.Configuration?.UserParameters as string);
}

/**
 * The same reference as an instance of a class that is not ours but carries the same jsii type id, as a
 * StackOutputReference created through another copy of aws-cdk-lib would be.
 */
function foreignCopyOf(ref: pipelines.StackOutputReference): object {
  class ForeignStackOutputReference {}
  Object.defineProperty(ForeignStackOutputReference, Symbol.for('jsii.rtti'), {
    value: { fqn: 'aws-cdk-lib.pipelines.StackOutputReference', version: '2.0.0' },
  });
  return Object.assign(new ForeignStackOutputReference(), {
    stackDescription: ref.stackDescription,
    outputName: ref.outputName,
    isProducedBy: (stack: pipelines.StackDeployment) => ref.isProducedBy(stack),
  });
}

const FUNCTION_REF = { Ref: Match.stringLikeRegexp('^SmokeTestFunction') };

describe('placement', () => {
  test('a pre step of a stage becomes a Lambda invoke action before the stack is prepared', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { pre: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    const check = action(template, 'Prod', 'Check');
    expect(check.ActionTypeId).toEqual(expect.objectContaining({ Category: 'Invoke', Provider: 'Lambda' }));
    expect(check.RunOrder).toBe(1);
    expect(prepareAction(template, 'Prod').RunOrder).toBe(2);
  });

  test('the action invokes the step function by name', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { pre: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Prod',
          Actions: Match.arrayWith([
            Match.objectLike({
              Name: 'Check',
              ActionTypeId: { Category: 'Invoke', Owner: 'AWS', Provider: 'Lambda', Version: '1' },
              Configuration: { FunctionName: FUNCTION_REF },
            }),
          ]),
        }),
      ]),
    });
  });

  test('a post step of a stage runs after the stack is deployed', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'SmokeTest')] });

    const template = Template.fromStack(f.stack);

    const deploy = deployAction(template, 'Prod');
    expect(action(template, 'Prod', 'SmokeTest').RunOrder).toBe(deploy.RunOrder + 1);
  });

  test('a pre step of a wave runs before the stages of the wave are deployed', () => {
    const f = pipelineFixture();
    const wave = f.pipeline.addWave('Wave', { pre: [step(f, 'Gate')] });
    wave.addStage(new WebStage(f.app, 'EU'));
    wave.addStage(new WebStage(f.app, 'US'));

    const template = Template.fromStack(f.stack);

    const gate = action(template, 'Wave', 'Gate');
    const prepares = actionsOf(template, 'Wave').filter((a) => a.Name.endsWith('.Prepare'));
    expect(prepares.map((a) => a.Name)).toEqual(['EU.Web.Prepare', 'US.Web.Prepare']);
    expect(prepares.every((a) => a.RunOrder > gate.RunOrder)).toBe(true);
  });

  test('a post step of a wave runs after every stage of the wave is deployed', () => {
    const f = pipelineFixture();
    const wave = f.pipeline.addWave('Wave', { post: [step(f, 'Notify')] });
    wave.addStage(new WebStage(f.app, 'EU'));
    wave.addStage(new WebStage(f.app, 'US'));

    const template = Template.fromStack(f.stack);

    const notify = action(template, 'Wave', 'Notify');
    const deploys = actionsOf(template, 'Wave').filter((a) => a.Name.endsWith('.Deploy'));
    expect(deploys).toHaveLength(2);
    expect(deploys.every((a) => a.RunOrder < notify.RunOrder)).toBe(true);
  });

  test('a step in the stackSteps of a stack runs after that stack is deployed', () => {
    const f = pipelineFixture();
    const stage = new WebStage(f.app, 'Prod');
    const webStack = Stack.of(stage.url);
    f.pipeline.addStage(stage, { stackSteps: [{ stack: webStack, post: [step(f, 'StackCheck')] }] });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'StackCheck').RunOrder).toBe(deployAction(template, 'Prod').RunOrder + 1);
  });

  test('steps in sequence take one run order each, with the names and run orders the pipeline assigns', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: pipelines.Step.sequence([step(f, 'First'), step(f, 'Second'), step(f, 'Third')]),
    });

    const template = Template.fromStack(f.stack);

    const deploy = deployAction(template, 'Prod').RunOrder;
    expect(['First', 'Second', 'Third'].map((name) => action(template, 'Prod', name).RunOrder)).toEqual([
      deploy + 1,
      deploy + 2,
      deploy + 3,
    ]);
  });

  test('produceAction reports one run order consumed', () => {
    const f = pipelineFixture();
    const s = step(f, 'Direct');
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [s] });
    f.pipeline.buildPipeline();
    const stage = f.pipeline.pipeline.addStage({ stageName: 'Extra' });

    const result = s.produceAction(stage, {
      scope: f.stack,
      actionName: 'Direct',
      runOrder: 7,
      artifacts: new pipelines.ArtifactMap(),
      pipeline: f.pipeline,
      stackOutputsMap: new pipelines.StackOutputsMap(f.pipeline),
    });

    expect(result).toEqual({ runOrdersConsumed: 1 });
  });
});

describe('input and output file sets', () => {
  test('the synth step output is the input artifact of the action', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check', { input: f.synth })] });

    const template = Template.fromStack(f.stack);

    const synthOutput = action(template, 'Build', 'Synth').OutputArtifacts?.[0].Name;
    expect(synthOutput).toBeDefined();
    expect(action(template, 'Prod', 'Check').InputArtifacts).toEqual([{ Name: synthOutput }]);
  });

  test('the output of another step is an input, and the action runs after that step', () => {
    const f = pipelineFixture();
    const build = new pipelines.ShellStep('Build', {
      input: f.synth,
      commands: ['make report'],
      primaryOutputDirectory: 'report',
    });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check', { input: build })] });

    const template = Template.fromStack(f.stack);

    const buildAction = action(template, 'Prod', 'Build');
    const check = action(template, 'Prod', 'Check');
    expect(check.InputArtifacts).toEqual([{ Name: buildAction.OutputArtifacts?.[0].Name }]);
    expect(check.RunOrder).toBeGreaterThan(buildAction.RunOrder);
  });

  test('additional inputs follow the primary input, in the order given', () => {
    const f = pipelineFixture();
    const report = new pipelines.ShellStep('Report', { input: f.synth, commands: ['make'], primaryOutputDirectory: 'out' });
    const docs = new pipelines.ShellStep('Docs', { input: f.synth, commands: ['make'], primaryOutputDirectory: 'out' });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [report, docs, step(f, 'Check', { input: f.synth, additionalInputs: [docs, report] })],
    });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'Check').InputArtifacts).toEqual([
      { Name: action(template, 'Build', 'Synth').OutputArtifacts?.[0].Name },
      { Name: action(template, 'Prod', 'Docs').OutputArtifacts?.[0].Name },
      { Name: action(template, 'Prod', 'Report').OutputArtifacts?.[0].Name },
    ]);
  });

  test('a step without inputs has no input artifacts', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'Check').InputArtifacts).toBeUndefined();
  });

  test('an input that produces no file set is rejected, naming the step', () => {
    const f = pipelineFixture();
    const approval = new pipelines.ManualApprovalStep('Approve');

    expect(() => step(f, 'Check', { input: approval })).toThrow(
      /LambdaInvokeStep 'Check': input must be a step that produces a file set/,
    );
  });

  test('the same file set given twice is rejected', () => {
    const f = pipelineFixture();

    expect(() => step(f, 'Check', { input: f.synth, additionalInputs: [f.synth] })).toThrow(
      /LambdaInvokeStep 'Check': additionalInputs\[0\] \(FileSet\(.*\)\) is already an input of this step/,
    );
  });

  test('more than five input file sets are rejected', () => {
    const f = pipelineFixture();
    const producers = [1, 2, 3, 4, 5].map(
      (i) => new pipelines.ShellStep(`Make${i}`, { commands: ['make'], primaryOutputDirectory: 'out' }),
    );

    expect(() => step(f, 'Check', { input: f.synth, additionalInputs: producers })).toThrow(
      /at most 5 input artifacts, got 6/,
    );
  });

  test('five input file sets are accepted', () => {
    const f = pipelineFixture();
    const producers = [1, 2, 3, 4].map(
      (i) => new pipelines.ShellStep(`Make${i}`, { commands: ['make'], primaryOutputDirectory: 'out' }),
    );

    expect(step(f, 'Check', { input: f.synth, additionalInputs: producers }).inputs).toHaveLength(5);
  });

  test('with primaryOutput the action has an output artifact that a later ShellStep consumes', () => {
    const f = pipelineFixture();
    const pack = step(f, 'Package', { input: f.synth, primaryOutput: true });
    const publish = new pipelines.ShellStep('Publish', { input: pack, commands: ['ls'] });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [pack, publish] });

    const template = Template.fromStack(f.stack);

    const packAction = action(template, 'Prod', 'Package');
    const publishAction = action(template, 'Prod', 'Publish');
    expect(packAction.OutputArtifacts).toEqual([{ Name: 'Package_Output' }]);
    expect(publishAction.InputArtifacts).toEqual([{ Name: 'Package_Output' }]);
    expect(publishAction.RunOrder).toBeGreaterThan(packAction.RunOrder);
  });

  test('with primaryOutput the step exposes the file set it produces', () => {
    const f = pipelineFixture();
    const pack = step(f, 'Package', { primaryOutput: true });

    expect(pack.primaryOutput?.producer).toBe(pack);
  });

  test('without primaryOutput the action has no output artifact and the step no file set', () => {
    const f = pipelineFixture();
    const check = step(f, 'Check');
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [check] });

    const template = Template.fromStack(f.stack);

    expect(check.primaryOutput).toBeUndefined();
    expect(action(template, 'Prod', 'Check').OutputArtifacts).toBeUndefined();
  });
});

describe('stack outputs in UserParameters', () => {
  test('a StackOutputReference becomes the variable of the deploy action that captures the output', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    const url = pipelines.StackOutputReference.fromCfnOutput(prod.url);
    f.pipeline.addStage(prod, { post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url }) })] });

    const template = Template.fromStack(f.stack);

    const deploy = deployAction(template, 'Prod');
    expect(deploy.Namespace).toBeDefined();
    expect(userParametersOf(action(template, 'Prod', 'SmokeTest'))).toEqual({ url: `#{${deploy.Namespace}.Url}` });
  });

  test('stack outputs nested in objects and arrays are all resolved, other values kept', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    const url = pipelines.StackOutputReference.fromCfnOutput(prod.url);
    const bucket = pipelines.StackOutputReference.fromCfnOutput(prod.bucket);
    const userParameters = UserParameters.fromObject({
      retries: 3,
      targets: [{ url, expect: 200 }, { url: 'https://static.example.com' }],
      storage: { buckets: [bucket] },
    });
    f.pipeline.addStage(prod, { post: [step(f, 'SmokeTest', { userParameters })] });

    const template = Template.fromStack(f.stack);

    const ns = deployAction(template, 'Prod').Namespace;
    expect(userParametersOf(action(template, 'Prod', 'SmokeTest'))).toEqual({
      retries: 3,
      targets: [{ url: `#{${ns}.Url}`, expect: 200 }, { url: 'https://static.example.com' }],
      storage: { buckets: [`#{${ns}.BucketName}`] },
    });
  });

  test('a CfnOutput given directly is treated as its StackOutputReference', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    f.pipeline.addStage(prod, {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url: prod.url }) })],
    });

    const template = Template.fromStack(f.stack);

    const ns = deployAction(template, 'Prod').Namespace;
    expect(userParametersOf(action(template, 'Prod', 'SmokeTest'))).toEqual({ url: `#{${ns}.Url}` });
  });

  test('the step lists the stack outputs it consumes, once each', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    const url = pipelines.StackOutputReference.fromCfnOutput(prod.url);

    const s = step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ a: url, b: [url], c: prod.bucket }) });

    expect(s.consumedStackOutputs.map((ref) => ref.outputName)).toEqual(['Url', 'BucketName']);
  });

  test('a stack output consumed in a pre step of a later stage is captured by the earlier deployment', () => {
    const f = pipelineFixture();
    const beta = new WebStage(f.app, 'Beta');
    f.pipeline.addStage(beta);
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      pre: [step(f, 'CheckBeta', { userParameters: UserParameters.fromObject({ url: beta.url }) })],
    });

    const template = Template.fromStack(f.stack);

    const ns = deployAction(template, 'Beta').Namespace;
    expect(ns).toBeDefined();
    expect(userParametersOf(action(template, 'Prod', 'CheckBeta'))).toEqual({ url: `#{${ns}.Url}` });
  });

  test('without stack outputs the deploy action captures no variables', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url: 'https://example.com' }) })],
    });

    const template = Template.fromStack(f.stack);

    expect(deployAction(template, 'Prod').Namespace).toBeUndefined();
  });

  test('a StackOutputReference of another copy of aws-cdk-lib is recognised by its jsii type', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    const foreign = foreignCopyOf(pipelines.StackOutputReference.fromCfnOutput(prod.url));
    f.pipeline.addStage(prod, { post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url: foreign }) })] });

    const template = Template.fromStack(f.stack);

    expect(foreign).not.toBeInstanceOf(pipelines.StackOutputReference);
    expect(userParametersOf(action(template, 'Prod', 'SmokeTest'))).toEqual({
      url: `#{${deployAction(template, 'Prod').Namespace}.Url}`,
    });
  });

  test('a stack output of a stack that is not in the pipeline fails the synth', () => {
    const f = pipelineFixture();
    const elsewhere = new WebStage(f.app, 'Elsewhere');
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url: elsewhere.url }) })],
    });

    expect(() => f.app.synth()).toThrow(/Stack 'Elsewhere\/Web' \(producing output 'Url'\) is not in the pipeline/);
  });

  test('a variable exported by a CodeBuildStep is resolved and orders the step after it', () => {
    const f = pipelineFixture();
    const build = new pipelines.CodeBuildStep('Version', { commands: ['export VERSION=1.2.3'] });
    const userParameters = UserParameters.fromObject({ version: build.exportedVariable('VERSION') });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Announce', { userParameters }), build] });

    const template = Template.fromStack(f.stack);

    const versionAction = action(template, 'Prod', 'Version');
    const announce = action(template, 'Prod', 'Announce');
    expect(userParametersOf(announce)).toEqual({ version: `#{${versionAction.Namespace}.VERSION}` });
    expect(announce.RunOrder).toBeGreaterThan(versionAction.RunOrder);
  });

  test('a construct in UserParameters is rejected, naming the field', () => {
    const f = pipelineFixture();
    const bucket = new s3.Bucket(f.stack, 'Bucket');

    expect(() => step(f, 'Check', { userParameters: UserParameters.fromObject({ targets: [{ bucket }] }) })).toThrow(
      /LambdaInvokeStep 'Check': userParameters.targets\[0\].bucket is a construct \(PipelineStack\/Bucket\), not JSON data/,
    );
  });

  test('UserParameters given as a string are passed as they are', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [step(f, 'Check', { userParameters: UserParameters.fromString('plain text') })],
    });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'Check').Configuration?.UserParameters).toBe('plain text');
  });
});

describe('UserParameters schema', () => {
  const schema = UserParametersSchema.fromJsonSchema({
    type: 'object',
    properties: {
      url: { type: 'string', format: 'uri' },
      retries: { type: 'integer', minimum: 0 },
    },
    required: ['url'],
    additionalProperties: false,
  });

  test('parameters that violate the schema fail the synth, naming the step and the field', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [
        step(f, 'SmokeTest', {
          userParameters: UserParameters.fromObject({ url: 'https://example.com', retries: -1 }),
          userParametersSchema: schema,
        }),
      ],
    });

    expect(() => f.app.synth()).toThrow(
      /PipelineStack\/Pipeline\/Pipeline\/Prod: LambdaInvokeStep\(SmokeTest\)\.userParameters .*retries: must be >= 0/,
    );
  });

  test('a missing required field is reported by its name', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ retries: 1 }), userParametersSchema: schema })],
    });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters\.url: is required/);
  });

  test('a stack output is accepted where the schema asks for a URI', () => {
    const f = pipelineFixture();
    const prod = new WebStage(f.app, 'Prod');
    f.pipeline.addStage(prod, {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ url: prod.url }), userParametersSchema: schema })],
    });

    expect(() => f.app.synth()).not.toThrow();
  });

  test('the schema of a PipelineJobFunction is checked when the step has none', () => {
    const f = pipelineFixture();
    const fn = new PipelineJobFunction(f.stack, 'JobFunction', {
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
      handler: 'index.handler',
      userParametersSchema: schema,
    });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [new LambdaInvokeStep('SmokeTest', { function: fn, userParameters: UserParameters.fromObject({ url: 'x', retries: 'many' }) })],
    });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters\.retries: must be an integer/);
  });

  test('the schema of a PipelineJobFunction is checked besides the schema of the step', () => {
    const f = pipelineFixture();
    const fn = new PipelineJobFunction(f.stack, 'JobFunction', {
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
      handler: 'index.handler',
      userParametersSchema: schema,
    });
    const lenient = UserParametersSchema.fromJsonSchema({ type: 'object' });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [
        new LambdaInvokeStep('SmokeTest', {
          function: fn,
          userParameters: UserParameters.fromObject({ url: 'https://example.com', extra: true }),
          userParametersSchema: lenient,
        }),
      ],
    });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters\.extra: is not allowed here/);
  });

  test('the schema of any function implementing IPipelineJobFunction is checked', () => {
    class OwnJobFunction extends lambda.Function implements IPipelineJobFunction {
      public readonly userParametersSchema = schema;
    }
    const f = pipelineFixture();
    const fn = new OwnJobFunction(f.stack, 'Own', {
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
    });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [new LambdaInvokeStep('SmokeTest', { function: fn, userParameters: UserParameters.fromObject({ url: 'x', retries: 'many' }) })],
    });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters\.retries: must be an integer/);
  });

  test('a schema without parameters fails the synth', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'SmokeTest', { userParametersSchema: schema })] });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters is missing/);
  });

  test('parameters longer than CodePipeline accepts fail the synth', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), {
      post: [step(f, 'SmokeTest', { userParameters: UserParameters.fromObject({ note: 'x'.repeat(1000) }) })],
    });

    expect(() => f.app.synth()).toThrow(/LambdaInvokeStep\(SmokeTest\)\.userParameters renders to 1011 characters/);
  });
});

describe('permissions', () => {
  test('the function may report job results', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^SmokeTestFunctionServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
            Effect: 'Allow',
            Resource: '*',
          }),
        ]),
      },
    });
  });

  test('the job-result permission is granted once', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^SmokeTestFunctionServiceRole') }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const jobResultStatements = statements.filter((s) => JSON.stringify(s.Action).includes('PutJobSuccessResult'));
    expect(jobResultStatements).toHaveLength(1);
  });

  test('the pipeline may invoke the function', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Check')] });

    const template = Template.fromStack(f.stack);

    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^SmokeTestFunction'), 'Arn'] }]),
          }),
        ]),
      },
    });
  });
});

describe('output variables', () => {
  test('variable() returns a reference in the namespace derived from the step id', () => {
    const f = pipelineFixture();

    expect(step(f, 'Smoke Test').variable('url')).toBe('#{Smoke_Test.url}');
  });

  test('the action gets the namespace once variable() was called', () => {
    const f = pipelineFixture();
    const smoke = step(f, 'SmokeTest');
    const report = new pipelines.ShellStep('Report', { commands: ['echo $URL'], env: { URL: smoke.variable('url') } });
    report.addStepDependency(smoke);
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [smoke, report] });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'SmokeTest').Namespace).toBe('SmokeTest');
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Prod',
          Actions: Match.arrayWith([
            Match.objectLike({
              Name: 'Report',
              Configuration: Match.objectLike({
                EnvironmentVariables: Match.stringLikeRegexp('"name":"URL","type":"PLAINTEXT","value":"#\\{SmokeTest.url\\}"'),
              }),
            }),
          ]),
        }),
      ]),
    });
  });

  test('an explicit variablesNamespace is used by the action and by variable()', () => {
    const f = pipelineFixture();
    const smoke = step(f, 'SmokeTest', { variablesNamespace: 'Smoke' });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [smoke] });

    const template = Template.fromStack(f.stack);

    expect(smoke.variable('url')).toBe('#{Smoke.url}');
    expect(action(template, 'Prod', 'SmokeTest').Namespace).toBe('Smoke');
  });

  test('without variable() or variablesNamespace the action has no namespace', () => {
    const f = pipelineFixture();
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [step(f, 'Notify')] });
    f.pipeline.addStage(new WebStage(f.app, 'Prod2'), { post: [step(f, 'Notify')] });

    const template = Template.fromStack(f.stack);

    expect(action(template, 'Prod', 'Notify').Namespace).toBeUndefined();
    expect(action(template, 'Prod2', 'Notify').Namespace).toBeUndefined();
  });

  test('reading variablesNamespace gives the action its namespace', () => {
    const f = pipelineFixture();
    const smoke = step(f, 'SmokeTest');
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [smoke] });

    expect(smoke.variablesNamespace).toBe('SmokeTest');
    expect(action(Template.fromStack(f.stack), 'Prod', 'SmokeTest').Namespace).toBe('SmokeTest');
  });

  test('a long step id gives a deterministic namespace of at most 100 characters', () => {
    const f = pipelineFixture();
    const id = `Check${'x'.repeat(150)}`;

    const first = step(f, id).variablesNamespace;

    expect(first).toHaveLength(100);
    expect(first).toMatch(/^Checkx+_[0-9a-f]{8}$/);
    expect(step(f, id).variablesNamespace).toBe(first);
  });

  /** A pipeline with two steps of the same id, both using their (derived) namespace: in stages Beta and Prod. */
  function twoStepsSharingANamespace(): Fixture {
    const f = pipelineFixture();
    const a = step(f, 'SmokeTest');
    const b = step(f, 'SmokeTest');
    a.variable('url');
    b.variable('url');
    f.pipeline.addStage(new WebStage(f.app, 'Beta'), { post: [a] });
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [b] });
    return f;
  }

  test('two steps using the same namespace in one pipeline fail the synth, naming both', () => {
    const f = twoStepsSharingANamespace();

    expect(() => f.app.synth()).toThrow(
      /variables namespace 'SmokeTest' is already used by LambdaInvokeStep 'SmokeTest' in this pipeline/,
    );
  });

  test('a namespace used twice is an error naming the construct path of the second step and its field', () => {
    const f = twoStepsSharingANamespace();

    expect(() => f.app.synth()).toThrow(
      /^PipelineStack\/Pipeline\/Pipeline\/Prod: LambdaInvokeStep\(SmokeTest\)\.variablesNamespace is taken: variables namespace 'SmokeTest'/,
    );
  });

  test('an invalid variablesNamespace is rejected', () => {
    const f = pipelineFixture();

    expect(() => step(f, 'Check', { variablesNamespace: 'has.dot' })).toThrow(
      /LambdaInvokeStep 'Check': variablesNamespace must be 1 to 100 characters of A-Za-z0-9@_- \(got "has.dot"\)/,
    );
  });

  test('an error found before the pipeline is built is a ValidationError naming the field, with no construct path yet', () => {
    const f = pipelineFixture();
    expect(() => step(f, 'Check', { variablesNamespace: 'has.dot' })).toThrow(
      expect.objectContaining({ name: 'ValidationError', type: 'validation', field: 'variablesNamespace', constructPath: undefined }),
    );
  });

  test('a variablesNamespace of 100 characters is accepted, 101 are rejected', () => {
    const f = pipelineFixture();

    expect(() => step(f, 'Ok', { variablesNamespace: 'n'.repeat(100) })).not.toThrow();
    expect(() => step(f, 'Long', { variablesNamespace: 'n'.repeat(101) })).toThrow(/LambdaInvokeStep 'Long': variablesNamespace must be 1 to 100/);
  });

  test('an invalid variable name is rejected', () => {
    const f = pipelineFixture();

    expect(() => step(f, 'Check').variable('not ok')).toThrow(/variable name "not ok" must match/);
  });

  test('variable() after the pipeline was built without a namespace is rejected', () => {
    const f = pipelineFixture();
    const smoke = step(f, 'SmokeTest');
    f.pipeline.addStage(new WebStage(f.app, 'Prod'), { post: [smoke] });
    f.pipeline.buildPipeline();

    expect(() => smoke.variable('url')).toThrow(/variable\(\) was used after the pipeline was built/);
  });
});
