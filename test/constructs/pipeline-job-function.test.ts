import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { inlineCode, JOB_RESULT_ACTIONS, logicalIdOf, minimalHandlerEntry, newStack } from './helpers';
import { PipelineJobFunction, PipelineJobNodejsFunction, UserParametersSchema } from '../../src';
import { CRASH_REPORTER_ID } from '../../src/private/crash-reporter';

const CRASH_REPORTER_DESCRIPTION = Match.stringLikeRegexp('Reports a CodePipeline job failed');
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const BASIC_EXECUTION_ROLE = 'service-role/AWSLambdaBasicExecutionRole';

/** The logical id of the one resource of a type whose id starts with `prefix`. */
function idStartingWith(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The statements of the policies attached to a role. */
function statementsOfRole(template: Template, rolePrefix: string): any[] {
  const roleId = idStartingWith(template, 'AWS::IAM::Role', rolePrefix);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

function managedPoliciesOfRole(template: Template, rolePrefix: string): string[] {
  const role: any = template.toJSON().Resources[idStartingWith(template, 'AWS::IAM::Role', rolePrefix)];
  return (role.Properties.ManagedPolicyArns ?? []).map((arn: any) => JSON.stringify(arn));
}

describe('logging permissions (issue #12)', () => {
  test("the job function's role may write to its own log group only, with no managed policy", () => {
    const stack = newStack();
    jobFunction(stack);
    const template = Template.fromStack(stack);
    expect(managedPoliciesOfRole(template, 'JobServiceRole')).toEqual([]);
    const logStatements = statementsOfRole(template, 'JobServiceRole').filter((st) => [st.Action].flat().some((a: string) => a.startsWith('logs:')));
    expect(logStatements).toEqual([
      { Action: LOG_ACTIONS, Effect: 'Allow', Resource: { 'Fn::GetAtt': [idStartingWith(template, 'AWS::Logs::LogGroup', 'JobLogGroup'), 'Arn'] } },
    ]);
  });

  test('a PipelineJobNodejsFunction gets the same scoped grant', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Stack');
    new PipelineJobNodejsFunction(stack, 'Job', { entry: minimalHandlerEntry });
    const template = Template.fromStack(stack);
    expect(managedPoliciesOfRole(template, 'JobServiceRole')).toEqual([]);
    expect(statementsOfRole(template, 'JobServiceRole')).toContainEqual({
      Action: LOG_ACTIONS,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [idStartingWith(template, 'AWS::Logs::LogGroup', 'JobLogGroup'), 'Arn'] },
    });
  });

  test('a log group passed in gets the grant instead of the one the construct would create', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Mine');
    jobFunction(stack, 'Job', { logGroup });
    const template = Template.fromStack(stack);
    expect(statementsOfRole(template, 'JobServiceRole')).toContainEqual({
      Action: LOG_ACTIONS,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [idStartingWith(template, 'AWS::Logs::LogGroup', 'Mine'), 'Arn'] },
    });
  });

  test('with the deprecated logRetention the role falls back to AWSLambdaBasicExecutionRole, with the nag reason saying why', () => {
    const stack = newStack();
    jobFunction(stack, 'Job', { logRetention: logs.RetentionDays.ONE_WEEK });
    const template = Template.fromStack(stack);
    expect(managedPoliciesOfRole(template, 'JobServiceRole').join()).toContain(BASIC_EXECUTION_ROLE);
    const role: any = template.toJSON().Resources[idStartingWith(template, 'AWS::IAM::Role', 'JobServiceRole')];
    expect(role.Metadata.cdk_nag.rules_to_suppress).toEqual([
      expect.objectContaining({ id: 'AwsSolutions-IAM4', reason: expect.stringMatching(/deprecated logRetention/) }),
    ]);
  });

  test('the scoped role carries no IAM4 suppression: there is no managed policy to explain', () => {
    const stack = newStack();
    jobFunction(stack);
    const role: any = Template.fromStack(stack).toJSON().Resources[idStartingWith(Template.fromStack(stack), 'AWS::IAM::Role', 'JobServiceRole')];
    expect(role.Metadata?.cdk_nag).toBeUndefined();
  });

  test('a function in a VPC gets the VPC access policy Lambda would give it, and still the scoped log grant', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 });
    jobFunction(stack, 'Job', { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    const template = Template.fromStack(stack);
    expect(managedPoliciesOfRole(template, 'JobServiceRole').join()).toContain('service-role/AWSLambdaVPCAccessExecutionRole');
    expect(managedPoliciesOfRole(template, 'JobServiceRole').join()).not.toContain(BASIC_EXECUTION_ROLE);
  });

  test('a role passed in is used as it is', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Own', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const fn = jobFunction(stack, 'Job', { role });
    expect(fn.role).toBe(role);
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::IAM::Role')).filter((id) => id.startsWith('JobServiceRole'))).toEqual([]);
  });
});

function jobFunction(stack: Stack, id = 'Job', props: Partial<ConstructorParameters<typeof PipelineJobFunction>[2]> = {}) {
  return new PipelineJobFunction(stack, id, { code: inlineCode, handler: 'index.handler', ...props });
}

function crashReporterLogicalId(template: Template): string {
  return logicalIdOf(template, 'AWS::Lambda::Function', { Description: CRASH_REPORTER_DESCRIPTION });
}

describe('PipelineJobFunction defaults', () => {
  test('runs on the newest Node.js runtime, arm64, with 5 minutes and 512 MB', () => {
    const stack = newStack();
    jobFunction(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      MemorySize: 512,
    });
  });

  test('explicit runtime, architecture, timeout and memory win over the defaults', () => {
    const stack = newStack();
    jobFunction(stack, 'Job', {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      timeout: Duration.minutes(10),
      memorySize: 1024,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      Timeout: 600,
      MemorySize: 1024,
    });
  });

  test('logs to its own log group with a one-month retention', () => {
    const stack = newStack();
    jobFunction(stack);
    const template = Template.fromStack(stack);
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler', Description: Match.absent() } }));
    const logGroupId = fn[0].Properties.LoggingConfig.LogGroup.Ref;
    expect(logGroupId).toMatch(/^JobLogGroup/);
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId].Properties).toEqual({ RetentionInDays: 30 });
  });

  test('logGroupRetention sets the retention of the log group it creates', () => {
    const stack = newStack();
    jobFunction(stack, 'Job', { logGroupRetention: logs.RetentionDays.ONE_WEEK, reportCrashes: false });
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 7 }, 1);
  });

  test('a log group of the user is used and no other is created', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Mine', { retention: logs.RetentionDays.ONE_YEAR });
    jobFunction(stack, 'Job', { logGroup, reportCrashes: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^Mine') } } });
  });

  test('logGroupRetention together with logGroup is an error naming the field', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Mine');
    expect(() => jobFunction(stack, 'Job', { logGroup, logGroupRetention: logs.RetentionDays.ONE_DAY })).toThrow(
      /Stack\/Job: logGroupRetention applies to the log group the construct creates/,
    );
  });

  test('keeps the schema it was given for the stage to check', () => {
    const schema = UserParametersSchema.fromJsonSchema({ type: 'object' });
    expect(jobFunction(newStack(), 'Job', { userParametersSchema: schema }).userParametersSchema).toBe(schema);
  });
});

describe('PipelineJobFunction grants', () => {
  test('grants PutJobSuccessResult and PutJobFailureResult on * to the function role', () => {
    const stack = newStack();
    jobFunction(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^JobServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([{ Action: JOB_RESULT_ACTIONS, Effect: 'Allow', Resource: '*' }]),
      },
    });
  });

  test('grantJobResults gives an existing function the same statement', () => {
    const stack = newStack();
    const existing = new lambda.Function(stack, 'Existing', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    const grant = PipelineJobFunction.grantJobResults(existing);
    expect(grant.success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ExistingServiceRole') }],
      PolicyDocument: { Statement: [{ Action: JOB_RESULT_ACTIONS, Effect: 'Allow', Resource: '*' }] },
    });
  });

  test('grantJobResults on an imported function without a role warns that its role needs the statement', () => {
    const stack = newStack();
    const imported = lambda.Function.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:111111111111:function:other');
    PipelineJobFunction.grantJobResults(imported);
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Imported',
      Match.stringLikeRegexp("Add statement to this resource's role.*codepipeline:PutJobSuccessResult"),
    );
  });

  test('grantJobResults works for any principal, e.g. a role', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    PipelineJobFunction.grantJobResults(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: JOB_RESULT_ACTIONS, Resource: '*' }] },
    });
  });
});

describe('crash reporting', () => {
  test('async invocations are not retried and failures go to the crash reporter', () => {
    const stack = newStack();
    jobFunction(stack);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^Job') },
      MaximumRetryAttempts: 0,
      Qualifier: '$LATEST',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [crashReporterLogicalId(template), 'Arn'] } } },
    });
  });

  test('the function may invoke the crash reporter, and only it', () => {
    const stack = newStack();
    jobFunction(stack);
    const template = Template.fromStack(stack);
    const reporter = crashReporterLogicalId(template);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^JobServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: [{ 'Fn::GetAtt': [reporter, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reporter, 'Arn'] }, ':*']] }],
          },
        ]),
      },
    });
  });

  test('a function on an imported role may invoke the crash reporter too', () => {
    const stack = newStack();
    const role = iam.Role.fromRoleArn(stack, 'TheirRole', 'arn:aws:iam::111111111111:role/their-role');
    jobFunction(stack, 'Job', { role });
    const template = Template.fromStack(stack);
    const reporter = crashReporterLogicalId(template);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: ['their-role'],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: [{ 'Fn::GetAtt': [reporter, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reporter, 'Arn'] }, ':*']] }],
          },
        ]),
      },
    });
  });

  test('the crash reporter is the bundled asset on Node.js 24, arm64, with its own log group', () => {
    const stack = newStack();
    jobFunction(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: CRASH_REPORTER_DESCRIPTION,
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Code: { S3Key: Match.stringLikeRegexp('\\.zip$') },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp(`^${CRASH_REPORTER_ID}LogGroup`) } },
    });
  });

  test('the crash reporter may report failures and write to its own log group, and nothing else', () => {
    const stack = newStack();
    jobFunction(stack);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp(`^${CRASH_REPORTER_ID}FunctionServiceRole`) }],
      PolicyDocument: {
        Statement: [
          { Action: LOG_ACTIONS, Effect: 'Allow', Resource: { 'Fn::GetAtt': [idStartingWith(template, 'AWS::Logs::LogGroup', `${CRASH_REPORTER_ID}LogGroup`), 'Arn'] } },
          { Action: 'codepipeline:PutJobFailureResult', Effect: 'Allow', Resource: '*' },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('the bundled crash reporter exports the handler', () => {
    const bundle = path.join(__dirname, '..', '..', 'assets', 'crash-reporter.lambda', 'index.js');
    expect(fs.existsSync(bundle)).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built bundle is loaded as Lambda would
    expect(typeof require(bundle).handler).toBe('function');
  });

  test('one crash reporter serves every job function of a stack', () => {
    const stack = newStack();
    jobFunction(stack, 'First');
    jobFunction(stack, 'Second');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventInvokeConfig',
      { DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [crashReporterLogicalId(template), 'Arn'] } } } },
      2,
    );
  });

  test('each stack has its own crash reporter', () => {
    const first = newStack('First');
    const second = new Stack(first.node.scope as App, 'Second');
    jobFunction(first);
    jobFunction(second);
    for (const stack of [first, second]) {
      Template.fromStack(stack).resourcePropertiesCountIs('AWS::Lambda::Function', { Description: CRASH_REPORTER_DESCRIPTION }, 1);
    }
  });

  test('reportCrashes: false adds no crash reporter', () => {
    const stack = newStack();
    const fn = jobFunction(stack, 'Job', { reportCrashes: false });
    const template = Template.fromStack(stack);
    expect(fn.crashReporter).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('reportCrashes: false still turns Lambda retries off, with no onFailure destination', () => {
    const stack = newStack();
    jobFunction(stack, 'Job', { reportCrashes: false });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, DestinationConfig: Match.absent() });
  });

  test('reportCrashes: false lets the user give their own onFailure destination', () => {
    const stack = newStack();
    const target = new lambda.Function(stack, 'Target', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    jobFunction(stack, 'Job', { reportCrashes: false, onFailure: new destinations.LambdaDestination(target) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Target'), 'Arn'] } } },
    });
  });

  test('onFailure with crash reporting on is an error that says what to do', () => {
    const stack = newStack();
    const target = new lambda.Function(stack, 'Target', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    expect(() => jobFunction(stack, 'Job', { onFailure: new destinations.LambdaDestination(target) })).toThrow(
      /Stack\/Job: onFailure is taken by crash reporting \(reportCrashes, default true\): set reportCrashes: false/,
    );
  });

  test('retryAttempts given by the user is kept', () => {
    const stack = newStack();
    jobFunction(stack, 'Job', { retryAttempts: 2 });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });
});

describe('PipelineJobNodejsFunction', () => {
  test('bundles the entry with esbuild and has the job-function defaults, grants and crash reporting', () => {
    const stack = newStack();
    new PipelineJobNodejsFunction(stack, 'Job', { entry: minimalHandlerEntry });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      MemorySize: 512,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^JobLogGroup') } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^JobServiceRole') }],
      PolicyDocument: { Statement: Match.arrayWith([{ Action: JOB_RESULT_ACTIONS, Effect: 'Allow', Resource: '*' }]) },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [crashReporterLogicalId(template), 'Arn'] } } },
    });
  });

  test('without an entry it is an error naming the field', () => {
    expect(() => new PipelineJobNodejsFunction(newStack(), 'Job', {})).toThrow(/Stack\/Job: entry is required/);
  });
});
