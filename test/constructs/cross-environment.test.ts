import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, PhysicalName, Stack, Stage, StageProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { inlineCode, JOB_RESULT_ACTIONS } from './helpers';
import { LambdaInvokeStage } from '../../src/lambda-invoke-stage';
import { LambdaInvokeStep } from '../../src/lambda-invoke-step';
import { PipelineJobFunction } from '../../src/pipeline-job-function';
import { PipelineJobNodejsFunction } from '../../src/pipeline-job-nodejs-function';
import { CRASH_REPORTER_TARGETS_ENV, JOB_REGION_ENV, JOB_RESULT_ROLE_ARN_ENV } from '../../src/shared/job-result-target';

const PIPELINE_ENV = { account: '111111111111', region: 'eu-west-1' };
const OTHER_ACCOUNT = '222222222222';
const OTHER_REGION = 'us-east-1';

interface Apps {
  readonly app: App;
  readonly pipelineStack: Stack;
  readonly functionStack: Stack;
  readonly pipeline: codepipeline.Pipeline;
  readonly fn: PipelineJobFunction;
}

/** A pipeline stack in account 111111111111 / eu-west-1 and a function stack in the given environment. */
function apps(functionEnv: { account: string; region: string }, options: { crossAccountKeys?: boolean } = {}): Apps {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cross-env-')) });
  const functionStack = new Stack(app, 'FunctionStack', { env: functionEnv });
  const fn = new PipelineJobFunction(functionStack, 'Fn', { code: inlineCode, handler: 'index.handler' });
  const pipelineStack = new Stack(app, 'PipelineStack', { env: PIPELINE_ENV });
  const pipeline = new codepipeline.Pipeline(pipelineStack, 'Pipeline', { crossAccountKeys: options.crossAccountKeys ?? true });
  const bucket = new s3.Bucket(pipelineStack, 'SourceBucket', { versioned: true });
  pipeline.addStage({
    stageName: 'Source',
    actions: [
      new codepipeline_actions.S3SourceAction({ actionName: 'Fetch', bucket, bucketKey: 'source.zip', output: new codepipeline.Artifact('Source') }),
    ],
  });
  return { app, pipelineStack, functionStack, pipeline, fn };
}

function invoke(a: Apps, fn: lambda.IFunction = a.fn, stageName = 'Invoke'): LambdaInvokeStage {
  return new LambdaInvokeStage(a.pipelineStack, stageName, { pipeline: a.pipeline, stageName, function: fn });
}

/** The one job-result role of the pipeline's template. */
function resultRole(template: Template): { logicalId: string; properties: any } {
  const roles = template.findResources('AWS::IAM::Role', {
    Properties: { Description: Match.stringLikeRegexp('Reports CodePipeline job results') },
  });
  const ids = Object.keys(roles);
  expect(ids).toHaveLength(1);
  return { logicalId: ids[0], properties: roles[ids[0]].Properties };
}

/** The job function of a function stack (the one function that is not the crash reporter). */
function jobFunction(template: Template): any {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (f: any) => !/Reports a CodePipeline job failed/.test(f.Properties.Description ?? ''),
  );
  expect(functions).toHaveLength(1);
  return functions[0];
}

function functionEnvironment(template: Template): Record<string, unknown> {
  return jobFunction(template).Properties.Environment?.Variables ?? {};
}

function crashReporterEnvironment(template: Template): Record<string, unknown> {
  const reporters = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('Reports a CodePipeline job failed') },
  });
  const reporter: any = Object.values(reporters)[0];
  return reporter.Properties.Environment?.Variables ?? {};
}

function statementsOf(template: Template, roleId: string): any[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p: any) => (p.Properties.Roles ?? []).some((r: any) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

function roleLogicalId(template: Template, pathPart: string): string {
  const roles = template.findResources('AWS::IAM::Role');
  const ids = Object.keys(roles).filter((id) => id.startsWith(pathPart));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe('a function in the same account and region as the pipeline', () => {
  test('gets no job-result role, no physical name and no environment for reporting', () => {
    const a = apps(PIPELINE_ENV);
    invoke(a);
    const fnTemplate = Template.fromStack(a.functionStack);
    fnTemplate.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', FunctionName: Match.absent() });
    expect(functionEnvironment(fnTemplate)).not.toHaveProperty(JOB_RESULT_ROLE_ARN_ENV);
    expect(functionEnvironment(fnTemplate)).not.toHaveProperty(JOB_REGION_ENV);
    expect(crashReporterEnvironment(fnTemplate)).not.toHaveProperty(CRASH_REPORTER_TARGETS_ENV);
    const pipelineTemplate = Template.fromStack(a.pipelineStack);
    expect(Object.keys(pipelineTemplate.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('job results') } }))).toHaveLength(0);
  });
});

describe('a function in another account', () => {
  test('gets a generated physical name without the user asking for one', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    Template.fromStack(a.functionStack).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      FunctionName: Match.stringLikeRegexp('^functionstack'),
    });
  });

  test('the pipeline account gets a job-result role allowed only to report job results', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    const template = Template.fromStack(a.pipelineStack);
    const role = resultRole(template);
    const statements = statementsOf(template, role.logicalId);
    expect(statements).toEqual([{ Effect: 'Allow', Action: JOB_RESULT_ACTIONS, Resource: '*' }]);
    expect(role.properties.ManagedPolicyArns).toBeUndefined();
    expect(role.properties.Policies).toBeUndefined();
  });

  test("the job-result role trusts exactly the function's role and its crash reporter's role, by ARN", () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    const fnTemplate = Template.fromStack(a.functionStack);
    const resources = fnTemplate.toJSON().Resources;
    const names = ['FnServiceRole', 'CodePipelineInvokeCrashReporterFunctionServiceRole'].map(
      (prefix) => resources[roleLogicalId(fnTemplate, prefix)].Properties.RoleName,
    );
    expect(names.every((n) => typeof n === 'string')).toBe(true);
    const [trust] = resultRole(Template.fromStack(a.pipelineStack)).properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Action).toBe('sts:AssumeRole');
    expect(trust.Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${OTHER_ACCOUNT}:root`]] } });
    expect(trust.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': names.map((n) => `arn:aws:iam::${OTHER_ACCOUNT}:role/${n}`) },
    });
  });

  test('the function role and the crash reporter role may assume the job-result role, and that is all they get for it', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    const roleName = resultRole(Template.fromStack(a.pipelineStack)).properties.RoleName;
    const resultRoleArn = `arn:aws:iam::${PIPELINE_ENV.account}:role/${roleName}`;
    const fnTemplate = Template.fromStack(a.functionStack);
    for (const prefix of ['FnServiceRole', 'CodePipelineInvokeCrashReporterFunctionServiceRole']) {
      const assume = statementsOf(fnTemplate, roleLogicalId(fnTemplate, prefix)).filter((s) => [s.Action].flat().some((x: string) => x.startsWith('sts:')));
      expect(assume).toEqual([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: resultRoleArn }]);
    }
  });

  test("the function's environment names the job-result role, and not the region (the same)", () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    const roleName = resultRole(Template.fromStack(a.pipelineStack)).properties.RoleName;
    const env = functionEnvironment(Template.fromStack(a.functionStack));
    expect(env[JOB_RESULT_ROLE_ARN_ENV]).toBe(`arn:aws:iam::${PIPELINE_ENV.account}:role/${roleName}`);
    expect(env).not.toHaveProperty(JOB_REGION_ENV);
  });

  test("the crash reporter's map names the function's job-result role", () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a);
    const roleName = resultRole(Template.fromStack(a.pipelineStack)).properties.RoleName;
    const fnTemplate = Template.fromStack(a.functionStack);
    const fnName = jobFunction(fnTemplate).Properties.FunctionName;
    expect(JSON.parse(crashReporterEnvironment(fnTemplate)[CRASH_REPORTER_TARGETS_ENV] as string)).toEqual({
      [fnName]: { roleArn: `arn:aws:iam::${PIPELINE_ENV.account}:role/${roleName}` },
    });
  });

  test('two stages of one pipeline invoking the same function share one job-result role', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    invoke(a, a.fn, 'First');
    invoke(a, a.fn, 'Second');
    resultRole(Template.fromStack(a.pipelineStack));
  });

  test('without a KMS key on the artifact bucket, synth fails naming the stage, why and crossAccountKeys', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region }, { crossAccountKeys: false });
    expect(() => invoke(a)).toThrow(/^PipelineStack\/Invoke: function \(FunctionStack\/Fn\) is in account 222222222222, the pipeline \(PipelineStack\/Pipeline\) in account 111111111111.*has no KMS key. A cross-account invoke needs one.*`crossAccountKeys: true`/);
  });

  test('a plain lambda.Function without a physical name is refused, naming the field and the fix', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    const plain = new lambda.Function(a.functionStack, 'Plain', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_22_X });
    expect(() => invoke(a, plain)).toThrow(/^PipelineStack\/Invoke: function \(FunctionStack\/Plain\) is in account 222222222222.*PhysicalName.GENERATE_IF_NEEDED/);
  });

  test('a plain lambda.Function with a physical name gets a named role, the trust and its environment', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    const plain = new lambda.Function(a.functionStack, 'Plain', {
      code: inlineCode,
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      functionName: PhysicalName.GENERATE_IF_NEEDED,
    });
    invoke(a, plain);
    const fnTemplate = Template.fromStack(a.functionStack);
    const roleId = roleLogicalId(fnTemplate, 'PlainServiceRole');
    const roleName = fnTemplate.toJSON().Resources[roleId].Properties.RoleName;
    const [trust] = resultRole(Template.fromStack(a.pipelineStack)).properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Condition.ArnEquals['aws:PrincipalArn']).toEqual([`arn:aws:iam::${OTHER_ACCOUNT}:role/${roleName}`]);
    expect(statementsOf(fnTemplate, roleId)).toContainEqual(expect.objectContaining({ Action: 'sts:AssumeRole' }));
    const plainFn: any = Object.values(fnTemplate.findResources('AWS::Lambda::Function', { Properties: { Role: { 'Fn::GetAtt': [roleId, 'Arn'] } } }))[0];
    expect(plainFn.Properties.Environment.Variables).toHaveProperty(JOB_RESULT_ROLE_ARN_ENV);
  });

  test('an imported function without its role is refused, saying how to import it with one', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    const imported = lambda.Function.fromFunctionArn(a.pipelineStack, 'Imported', `arn:aws:lambda:eu-west-1:${OTHER_ACCOUNT}:function:deployer`);
    expect(() => invoke(a, imported)).toThrow(/^PipelineStack\/Invoke: function \(PipelineStack\/Imported\) is in account 222222222222 and its execution role is not known.*fromFunctionAttributes/);
  });

  test('an imported function with its role gets the trust, and a warning saying what to set and grant by hand', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: PIPELINE_ENV.region });
    const imported = lambda.Function.fromFunctionAttributes(a.pipelineStack, 'Imported', {
      functionArn: `arn:aws:lambda:eu-west-1:${OTHER_ACCOUNT}:function:deployer`,
      role: iam.Role.fromRoleArn(a.pipelineStack, 'ImportedRole', `arn:aws:iam::${OTHER_ACCOUNT}:role/deployer-role`),
      sameEnvironment: false,
    });
    invoke(a, imported);
    const template = Template.fromStack(a.pipelineStack);
    const role = resultRole(template);
    expect(role.properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnEquals['aws:PrincipalArn']).toEqual([
      `arn:aws:iam::${OTHER_ACCOUNT}:role/deployer-role`,
    ]);
    const warnings = Annotations.fromStack(a.pipelineStack).findWarning('*', Match.stringLikeRegexp('cdk-codepipeline-invoke'));
    const texts = warnings.map((w) => String(w.entry.data));
    expect(texts.some((t) => /allow it sts:AssumeRole on arn:aws:iam::111111111111:role\//.test(t))).toBe(true);
    expect(texts.some((t) => new RegExp(`set ${JOB_RESULT_ROLE_ARN_ENV}=arn:aws:iam::111111111111:role/`).test(t))).toBe(true);
  });
});

describe('a function in another region of the same account', () => {
  test('gets the pipeline region in its environment and no job-result role', () => {
    const a = apps({ account: PIPELINE_ENV.account, region: OTHER_REGION });
    invoke(a);
    const env = functionEnvironment(Template.fromStack(a.functionStack));
    expect(env[JOB_REGION_ENV]).toBe(PIPELINE_ENV.region);
    expect(env).not.toHaveProperty(JOB_RESULT_ROLE_ARN_ENV);
    const roles = Template.fromStack(a.pipelineStack).findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('job results') } });
    expect(Object.keys(roles)).toHaveLength(0);
  });

  test("the crash reporter's map names the pipeline region for the function", () => {
    const a = apps({ account: PIPELINE_ENV.account, region: OTHER_REGION });
    invoke(a);
    const targets = JSON.parse(crashReporterEnvironment(Template.fromStack(a.functionStack))[CRASH_REPORTER_TARGETS_ENV] as string);
    expect(Object.values(targets)).toEqual([{ region: PIPELINE_ENV.region }]);
  });
});

describe('a function in another account and another region', () => {
  test('gets both the job-result role and the pipeline region', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: OTHER_REGION });
    invoke(a);
    const roleName = resultRole(Template.fromStack(a.pipelineStack)).properties.RoleName;
    const env = functionEnvironment(Template.fromStack(a.functionStack));
    expect(env).toMatchObject({
      [JOB_RESULT_ROLE_ARN_ENV]: `arn:aws:iam::${PIPELINE_ENV.account}:role/${roleName}`,
      [JOB_REGION_ENV]: PIPELINE_ENV.region,
    });
    const targets = JSON.parse(crashReporterEnvironment(Template.fromStack(a.functionStack))[CRASH_REPORTER_TARGETS_ENV] as string);
    expect(Object.values(targets)).toEqual([{ roleArn: env[JOB_RESULT_ROLE_ARN_ENV], region: PIPELINE_ENV.region }]);
  });

  test('one function used by pipelines in two environments is refused at synth, naming both', () => {
    const a = apps({ account: OTHER_ACCOUNT, region: OTHER_REGION });
    invoke(a);
    const otherPipelineStack = new Stack(a.app, 'OtherPipelineStack', { env: { account: '333333333333', region: 'eu-west-1' } });
    const other = new codepipeline.Pipeline(otherPipelineStack, 'Pipeline', { crossAccountKeys: true });
    other.addStage({
      stageName: 'Source',
      actions: [
        new codepipeline_actions.S3SourceAction({
          actionName: 'Fetch',
          bucket: new s3.Bucket(otherPipelineStack, 'SourceBucket'),
          bucketKey: 'source.zip',
          output: new codepipeline.Artifact('Source'),
        }),
      ],
    });
    expect(
      () => new LambdaInvokeStage(otherPipelineStack, 'Invoke', { pipeline: other, stageName: 'Invoke', function: a.fn }),
    ).toThrow(/^OtherPipelineStack\/Invoke: function \(FunctionStack\/Fn\) already serves a pipeline in account 111111111111, region eu-west-1 \(PipelineStack\/Invoke\); this pipeline is in account 333333333333/);
  });
});

// -----------------------------------------------------------------------------------------------------------------
// CDK Pipelines, two accounts

/** The application stage the pipeline deploys to account B. */
class AppStage extends Stage {
  constructor(scope: Construct, id: string, props: StageProps) {
    super(scope, id, props);
    new s3.Bucket(new Stack(this, 'App'), 'Data');
  }
}

function cdkPipelinesApp(options: { crossAccountKeys: boolean; nodejs?: boolean; stageAccount?: string }) {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cross-env-pipelines-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const workload = { account: OTHER_ACCOUNT, region: PIPELINE_ENV.region };
  // The smoke test lives in account B next to the application, in a stack deployed once with `cdk deploy`.
  const testStack = new Stack(app, 'SmokeTestStack', { env: workload });
  const fn = options.nodejs
    ? new PipelineJobNodejsFunction(testStack, 'SmokeTest', { entry: path.join(__dirname, '..', 'fixtures', 'constructs', 'minimal-handler.ts') })
    : new PipelineJobFunction(testStack, 'SmokeTest', { code: inlineCode, handler: 'index.handler' });
  const pipelineStack = new Stack(app, 'PipelineStack', { env: PIPELINE_ENV });
  const pipeline = new pipelines.CodePipeline(pipelineStack, 'Pipeline', {
    crossAccountKeys: options.crossAccountKeys,
    synth: new pipelines.ShellStep('Synth', {
      input: pipelines.CodePipelineSource.connection('org/repo', 'main', {
        connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abc',
      }),
      commands: ['npm ci', 'npx cdk synth'],
    }),
  });
  pipeline.addStage(new AppStage(app, 'Prod', { env: { ...workload, account: options.stageAccount ?? workload.account } }), { post: [new LambdaInvokeStep('SmokeTest', { function: fn })] });
  return { app, pipeline, pipelineStack, testStack, fn };
}

describe('CDK Pipelines with a LambdaInvokeStep after a stage in account B', () => {
  test('synthesizes: the invoke action names the function, the job-result role is in the pipeline account', () => {
    const p = cdkPipelinesApp({ crossAccountKeys: true });
    p.app.synth();
    const template = Template.fromStack(p.pipelineStack);
    const fnName = jobFunction(Template.fromStack(p.testStack)).Properties.FunctionName;
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Prod',
          Actions: Match.arrayWith([Match.objectLike({ Name: 'SmokeTest', ActionTypeId: Match.objectLike({ Provider: 'Lambda' }), Configuration: { FunctionName: fnName } })]),
        }),
      ]),
    });
    const role = resultRole(template);
    expect(role.properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnEquals['aws:PrincipalArn']).toHaveLength(2);
    expect(functionEnvironment(Template.fromStack(p.testStack))[JOB_RESULT_ROLE_ARN_ENV]).toBe(
      `arn:aws:iam::${PIPELINE_ENV.account}:role/${role.properties.RoleName}`,
    );
  });

  test('a PipelineJobNodejsFunction gets the same setup', () => {
    const p = cdkPipelinesApp({ crossAccountKeys: true, nodejs: true });
    p.app.synth();
    const template = Template.fromStack(p.testStack);
    const fn = jobFunction(template);
    expect(fn.Properties.FunctionName).toMatch(/^smoketeststack/);
    const roleArn = `arn:aws:iam::${PIPELINE_ENV.account}:role/${resultRole(Template.fromStack(p.pipelineStack)).properties.RoleName}`;
    expect(fn.Properties.Environment.Variables[JOB_RESULT_ROLE_ARN_ENV]).toBe(roleArn);
    const targets = JSON.parse(crashReporterEnvironment(template)[CRASH_REPORTER_TARGETS_ENV] as string);
    expect(targets).toEqual({ [fn.Properties.FunctionName]: { roleArn } });
  });

  test('without crossAccountKeys, synth fails naming the pipeline, the step and crossAccountKeys', () => {
    // The stage is in the pipeline's account, so no deploy action asks for the key first: the invoke does.
    const p = cdkPipelinesApp({ crossAccountKeys: false, stageAccount: PIPELINE_ENV.account });
    expect(() => p.app.synth()).toThrow(
      /^PipelineStack\/Pipeline\/Pipeline\/Prod: LambdaInvokeStep\(SmokeTest\)\.function \(SmokeTestStack\/SmokeTest\) is in account 222222222222, the pipeline \(PipelineStack\/Pipeline\/Pipeline\) in account 111111111111, and the pipeline's artifact bucket has no KMS key. A cross-account invoke needs one.*`crossAccountKeys: true`/,
    );
  });

  test('with a stage in account B and no crossAccountKeys, CDK Pipelines refuses the deploy actions first, naming crossAccountKeys', () => {
    const p = cdkPipelinesApp({ crossAccountKeys: false });
    expect(() => p.app.synth()).toThrow(/Artifact Bucket must have a KMS Key.*crossAccountKeys: true/);
  });
});

describe('the crash reporter map', () => {
  test("more cross-account functions in one stack than the reporter's environment can hold fail the synth, saying why", () => {
    const a = apps({ account: OTHER_ACCOUNT, region: OTHER_REGION });
    for (let i = 0; i < 20; i++) {
      const fn = new PipelineJobFunction(a.functionStack, `Function${i}WithARatherLongConstructIdToFillTheMap`, { code: inlineCode, handler: 'index.handler' });
      new LambdaInvokeStage(a.pipelineStack, `Invoke${i}`, { pipeline: a.pipeline, stageName: `Invoke${i}`, function: fn });
    }
    expect(() => a.app.synth()).toThrow(/CODEPIPELINE_JOB_RESULT_TARGETS would be \d+ characters for 20 functions.*4 KB.*spread these functions over more stacks/);
  });
});
