import { App, Aws, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { allIamActions, inlineCode, JOB_RESULT_ACTIONS, PipelineFixture, stackWithPipeline } from './helpers';
import {
  IPipelineJobFunction,
  LambdaInvokeStage,
  LambdaInvokeStageProps,
  PipelineJobFunction,
  UserParameters,
  UserParametersSchema,
} from '../../src';

const schema = UserParametersSchema.fromJsonSchema({
  type: 'object',
  required: ['environment', 'retries'],
  properties: {
    environment: { enum: ['dev', 'prod'] },
    retries: { type: 'integer', minimum: 0 },
    bucket: { type: 'string', pattern: '^[a-z0-9.-]+$' },
  },
});

function addStage(fixture: PipelineFixture, props: Partial<LambdaInvokeStageProps> = {}, id = 'Deploy'): LambdaInvokeStage {
  return new LambdaInvokeStage(fixture.stack, id, {
    pipeline: fixture.pipeline,
    stageName: 'Deploy',
    code: inlineCode,
    handler: 'index.handler',
    ...props,
  });
}

/** The Configuration of the stage's action, as synthesized. */
function actionOf(stack: Stack, stageName = 'Deploy'): Record<string, any> {
  const pipeline = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'))[0];
  const stage = pipeline.Properties.Stages.find((s: { Name: string }) => s.Name === stageName);
  return stage.Actions[0];
}

describe('the stage and its action', () => {
  test('adds a stage holding one Lambda invoke action on the provisioned function', () => {
    const fixture = stackWithPipeline();
    addStage(fixture);
    const action = actionOf(fixture.stack);
    expect(action).toMatchObject({
      ActionTypeId: { Category: 'Invoke', Owner: 'AWS', Provider: 'Lambda', Version: '1' },
      Name: 'Invoke',
      RunOrder: 1,
      Configuration: { FunctionName: { Ref: expect.stringMatching(/^DeployFunction/) } },
    });
    expect(action.Configuration.UserParameters).toBeUndefined();
  });

  test('the provisioned function is a PipelineJobFunction', () => {
    const stage = addStage(stackWithPipeline());
    expect(stage.function).toBeInstanceOf(PipelineJobFunction);
  });

  test('passes actionName, runOrder, inputs, outputs and variablesNamespace through', () => {
    const fixture = stackWithPipeline();
    const out = new codepipeline.Artifact('Report');
    addStage(fixture, { actionName: 'SmokeTest', runOrder: 2, inputs: [fixture.source], outputs: [out], variablesNamespace: 'Smoke' });
    expect(actionOf(fixture.stack)).toMatchObject({
      Name: 'SmokeTest',
      RunOrder: 2,
      InputArtifacts: [{ Name: 'Source' }],
      OutputArtifacts: [{ Name: 'Report' }],
      Namespace: 'Smoke',
    });
  });

  test('placement puts the stage where it says', () => {
    const fixture = stackWithPipeline();
    const last = fixture.pipeline.addStage({
      stageName: 'Approve',
      actions: [new codepipeline_actions.ManualApprovalAction({ actionName: 'Approve' })],
    });
    addStage(fixture, { placement: { rightBefore: last } });
    const stages = Object.values(Template.fromStack(fixture.stack).findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages;
    expect(stages.map((s: { Name: string }) => s.Name)).toEqual(['Source', 'Deploy', 'Approve']);
  });

  test('exposes the function, the action and the stage', () => {
    const stage = addStage(stackWithPipeline());
    expect(stage.action.actionProperties.actionName).toBe('Invoke');
    expect(stage.stage.stageName).toBe('Deploy');
    expect(stage.action.actionProperties.resource).toBe(stage.function);
  });

  test('an existing function is invoked as it is, without provisioning one', () => {
    const fixture = stackWithPipeline();
    const existing = new lambda.Function(fixture.stack, 'Existing', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    const stage = addStage(fixture, { function: existing, code: undefined, handler: undefined });
    expect(stage.function).toBe(existing);
    const template = Template.fromStack(fixture.stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(actionOf(fixture.stack).Configuration.FunctionName).toEqual({ Ref: expect.stringMatching(/^Existing/) });
    // The action binding grants an existing function the job results, as aws-cdk-lib's LambdaInvokeAction does.
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ExistingServiceRole') }],
      PolicyDocument: { Statement: [{ Action: JOB_RESULT_ACTIONS, Effect: 'Allow', Resource: '*' }] },
    });
  });

  test('function together with code is an error naming the field', () => {
    const fixture = stackWithPipeline();
    const existing = lambda.Function.fromFunctionName(fixture.stack, 'Existing', 'other');
    expect(() => addStage(fixture, { function: existing })).toThrow(/Stack\/Deploy: function is given together with code\/handler/);
  });

  test('a construct error is a ValidationError carrying the construct path and the field', () => {
    const fixture = stackWithPipeline();
    expect(() => addStage(fixture, { stageName: 'Deploy now' })).toThrow(
      expect.objectContaining({ name: 'ValidationError', type: 'validation', constructPath: 'Stack/Deploy', field: 'stageName' }),
    );
  });

  test('neither function nor code is an error naming the field', () => {
    expect(() => addStage(stackWithPipeline(), { code: undefined })).toThrow(/Stack\/Deploy: function is missing: give either an existing function, or code \+ handler/);
  });

  test('functionOptions reach the provisioned function', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { functionOptions: { memorySize: 2048, environment: { MODE: 'strict' } } });
    Template.fromStack(fixture.stack).hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 2048,
      Environment: { Variables: { MODE: 'strict' } },
    });
  });

  test('variable() references an output variable of the action namespace', () => {
    const fixture = stackWithPipeline();
    const stage = addStage(fixture, { variablesNamespace: 'Deploy' });
    expect(fixture.stack.resolve(stage.variable('url'))).toBe('#{Deploy.url}');
  });

  test('variable() with a name CodePipeline rejects is an error', () => {
    const stage = addStage(stackWithPipeline());
    expect(() => stage.variable('my url')).toThrow(/Stack\/Deploy: variable\(\) must match \^\[A-Za-z0-9@\\-_\]\+\$ \(got "my url"\)/);
  });
});

describe('names and artifact counts', () => {
  test.each([
    ['stageName', { stageName: 'Deploy now' }],
    ['stageName', { stageName: 'x'.repeat(101) }],
    ['actionName', { actionName: 'Invoke/1' }],
    ['variablesNamespace', { variablesNamespace: 'Deploy.Vars' }],
  ])('an invalid %s is an error naming the field and the value', (field, props) => {
    expect(() => addStage(stackWithPipeline(), props)).toThrow(new RegExp(`Stack/Deploy: ${field} must match .* \\(got "`));
  });

  test('names of 100 characters from the whole alphabet are accepted', () => {
    const name = 'aZ09.@-_'.repeat(12).slice(0, 100);
    expect(() => addStage(stackWithPipeline(), { stageName: name, actionName: name, variablesNamespace: name.replace(/\./g, '') })).not.toThrow();
  });

  test('a token as a name is left for CloudFormation to check', () => {
    expect(() => addStage(stackWithPipeline(), { variablesNamespace: Aws.STACK_NAME })).not.toThrow();
  });

  test('six inputs are an error naming the field; five are fine', () => {
    const fixture = stackWithPipeline();
    const artifacts = (n: number) => Array.from({ length: n }, (_, i) => new codepipeline.Artifact(`A${i}`));
    expect(() => addStage(fixture, { inputs: artifacts(6) }, 'Six')).toThrow(/Stack\/Six: inputs has 6 artifacts; a Lambda invoke action takes at most 5/);
    expect(() => addStage(fixture, { outputs: artifacts(6) }, 'SixOut')).toThrow(/Stack\/SixOut: outputs has 6 artifacts/);
    expect(() => addStage(fixture, { outputs: artifacts(5), stageName: 'Five' }, 'Five')).not.toThrow();
  });
});

describe('UserParameters', () => {
  test('an object renders as compact JSON in its key order', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ retries: 2, environment: 'dev', nested: { b: [1, true, null], a: 'x' } }) });
    expect(actionOf(fixture.stack).Configuration.UserParameters).toBe('{"retries":2,"environment":"dev","nested":{"b":[1,true,null],"a":"x"}}');
  });

  test('the same object always renders to the same string', () => {
    const stack = new Stack(new App(), 'S');
    const params = UserParameters.fromObject({ a: 1, b: ['x'] });
    expect(params._render(stack)).toBe(params._render(stack));
    expect(params._render(stack)).toBe(UserParameters.fromObject({ a: 1, b: ['x'] })._render(stack));
  });

  test('CDK tokens render as Fn::Join, as toJsonString does', () => {
    const fixture = stackWithPipeline();
    const bucket = new s3.Bucket(fixture.stack, 'Reports');
    addStage(fixture, { userParameters: UserParameters.fromObject({ bucket: bucket.bucketName, retries: 1 }) });
    expect(actionOf(fixture.stack).Configuration.UserParameters).toEqual({
      'Fn::Join': ['', ['{"bucket":"', { Ref: expect.stringMatching(/^Reports/) }, '","retries":1}']],
    });
  });

  test('a string is passed through as it is', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromString('deploy --fast') });
    expect(actionOf(fixture.stack).Configuration.UserParameters).toBe('deploy --fast');
  });

  test('1000 characters are accepted, 1001 are an error naming the field and the length', () => {
    const fixture = stackWithPipeline();
    const params = (length: number) => UserParameters.fromString('x'.repeat(length));
    expect(() => addStage(fixture, { userParameters: params(1000) }, 'Exact')).not.toThrow();
    expect(() => addStage(fixture, { userParameters: params(1001), stageName: 'Long' }, 'Long')).toThrow(
      /Stack\/Long: userParameters renders to 1001 characters, more than the 1000 CodePipeline accepts/,
    );
  });

  test('variable references do not count towards the length: they are substituted first', () => {
    const reference = '#{Build.Version}';
    const text = `${'x'.repeat(990)}${reference}${reference}`;
    expect(() => addStage(stackWithPipeline(), { userParameters: UserParameters.fromString(text) })).not.toThrow();
    expect(() => addStage(stackWithPipeline(), { userParameters: UserParameters.fromString(`${'x'.repeat(1001)}${reference}`) })).toThrow(
      /renders to at least 1001 characters/,
    );
  });

  test('with tokens, literal parts over the limit fail the synth, naming the construct', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ region: Aws.REGION, padding: 'x'.repeat(1000) }) });
    expect(() => Template.fromStack(fixture.stack)).toThrow(/Stack\/Deploy: userParameters renders to at least 10\d\d characters/);
  });

  test('with tokens, literal parts under the limit synthesize', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ region: Aws.REGION, padding: 'x'.repeat(900) }) });
    expect(() => Template.fromStack(fixture.stack)).not.toThrow();
  });

  test('an empty string is an error: CodePipeline wants at least one character', () => {
    expect(() => addStage(stackWithPipeline(), { userParameters: UserParameters.fromString('') })).toThrow(/Stack\/Deploy: userParameters is empty/);
  });
});

describe('UserParametersSchema', () => {
  test('conforming parameters synthesize', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParametersSchema: schema, userParameters: UserParameters.fromObject({ environment: 'dev', retries: 0 }) });
    expect(actionOf(fixture.stack).Configuration.UserParameters).toBe('{"environment":"dev","retries":0}');
  });

  test('a violation is an error naming the construct path, the field and the value', () => {
    expect(() =>
      addStage(stackWithPipeline(), { userParametersSchema: schema, userParameters: UserParameters.fromObject({ environment: 'dev', retries: -1 }) }),
    ).toThrow('Stack/Deploy: userParameters do not match the userParametersSchema: userParameters.retries: must be >= 0 (got -1)');
  });

  test('every violation is listed', () => {
    expect(() =>
      addStage(stackWithPipeline(), { userParametersSchema: schema, userParameters: UserParameters.fromObject({ environment: 'test' }) }),
    ).toThrow(/userParameters.retries: is required; userParameters.environment: must be one of "dev", "prod" \(got "test"\)/);
  });

  test('tokens and pipeline variables are accepted where the schema wants a string', () => {
    const fixture = stackWithPipeline();
    const bucket = new s3.Bucket(fixture.stack, 'Reports');
    expect(() =>
      addStage(fixture, {
        userParametersSchema: schema,
        userParameters: UserParameters.fromObject({ environment: '#{Source.Env}', retries: 1, bucket: bucket.bucketName }),
      }),
    ).not.toThrow();
  });

  test('a token is still rejected where the schema wants a number', () => {
    const fixture = stackWithPipeline();
    expect(() =>
      addStage(fixture, { userParametersSchema: schema, userParameters: UserParameters.fromObject({ environment: 'dev', retries: Aws.ACCOUNT_ID }) }),
    ).toThrow(/userParameters.retries: must be an integer/);
  });

  test('a JSON string is checked like an object', () => {
    expect(() =>
      addStage(stackWithPipeline(), { userParametersSchema: schema, userParameters: UserParameters.fromString('{"environment":"qa","retries":1}') }),
    ).toThrow(/userParameters.environment: must be one of/);
  });

  test('a string that is not JSON violates an object schema at the root', () => {
    expect(() => addStage(stackWithPipeline(), { userParametersSchema: schema, userParameters: UserParameters.fromString('dev') })).toThrow(
      /Stack\/Deploy: userParameters do not match the userParametersSchema: userParameters: must be an object \(got "dev"\)/,
    );
  });

  test('missing parameters are an error when a schema describes them', () => {
    expect(() => addStage(stackWithPipeline(), { userParametersSchema: schema })).toThrow(/Stack\/Deploy: userParameters is missing, but a userParametersSchema/);
  });

  test('the schema of a given PipelineJobFunction is checked too', () => {
    const fixture = stackWithPipeline();
    const fn = new PipelineJobFunction(fixture.stack, 'Job', { code: inlineCode, handler: 'index.handler', userParametersSchema: schema });
    expect(() =>
      addStage(fixture, { function: fn, code: undefined, handler: undefined, userParameters: UserParameters.fromObject({ environment: 'dev', retries: 'x' }) }),
    ).toThrow(/userParameters.retries: must be an integer \(got "x"\)/);
  });

  test('the schema of any function implementing IPipelineJobFunction is checked, not only of the library classes', () => {
    class OwnJobFunction extends lambda.Function implements IPipelineJobFunction {
      public readonly userParametersSchema = schema;
    }
    const fixture = stackWithPipeline();
    const fn = new OwnJobFunction(fixture.stack, 'Own', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    expect(() =>
      addStage(fixture, { function: fn, code: undefined, handler: undefined, userParameters: UserParameters.fromObject({ environment: 'test', retries: 1 }) }),
    ).toThrow(/Stack\/Deploy: userParameters do not match the userParametersSchema: userParameters.environment: must be one of/);
  });

  test('a function whose userParametersSchema is not a UserParametersSchema is not checked against it', () => {
    const fixture = stackWithPipeline();
    const fn = new lambda.Function(fixture.stack, 'Other', { code: inlineCode, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
    Object.assign(fn, { userParametersSchema: { schema: { type: 'string' } } });
    const params = UserParameters.fromObject({ environment: 'dev', retries: 1 });
    expect(() => addStage(fixture, { function: fn, code: undefined, handler: undefined, userParameters: params })).not.toThrow();
  });

  test('an unusable schema is rejected when it is made, naming the schema field', () => {
    expect(() => UserParametersSchema.fromJsonSchema({ type: 'object', properties: { retries: { type: 'int' } } })).toThrow(
      /UserParametersSchema.fromJsonSchema: not a usable JSON Schema: properties.retries.type: must be one of/,
    );
  });
});

describe('secrets in UserParameters', () => {
  function warningsOf(stack: Stack): string[] {
    return Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('UserParameters are visible'))
      .map((w) => String(w.entry.data));
  }

  test('a literal password field gets a warning naming the field', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ db: { password: 'hunter2' } }) });
    expect(warningsOf(fixture.stack)).toEqual([expect.stringMatching(/^userParameters.db.password is a "password" field with a literal value\./)]);
  });

  test('an AWS access key id gets a warning', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ keys: ['AKIAIOSFODNN7EXAMPLE'] }) });
    expect(warningsOf(fixture.stack)).toEqual([expect.stringMatching(/^userParameters.keys\[0\] looks like an AWS access key id/)]);
  });

  test('a Secrets Manager secret resolved into the parameters gets a warning', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { userParameters: UserParameters.fromObject({ token: SecretValue.secretsManager('github-token').unsafeUnwrap() }) });
    expect(warningsOf(fixture.stack)).toEqual([expect.stringMatching(/resolves a Secrets Manager or SSM SecureString secret into clear text/)]);
  });

  test('the name of a secret, an ARN or a pipeline variable gets no warning', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, {
      userParameters: UserParameters.fromObject({
        secretName: 'github-token',
        tokenArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:github-token',
        password: '#{Vault.Password}',
        environment: 'prod',
      }),
    });
    expect(warningsOf(fixture.stack)).toEqual([]);
  });
});

describe('IAM', () => {
  test('the action role may invoke the function, and read inputs and write outputs in the artifact bucket', () => {
    const fixture = stackWithPipeline();
    addStage(fixture, { inputs: [fixture.source], outputs: [new codepipeline.Artifact('Out')] });
    const template = Template.fromStack(fixture.stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^PipelineDeployInvokeCodePipelineActionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'lambda:InvokeFunction', Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployFunction'), 'Arn'] }]) }),
          Match.objectLike({ Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'] }),
          Match.objectLike({ Action: Match.arrayWith(['s3:PutObject']) }),
        ]),
      },
    });
  });

  test('without artifacts the action role gets no bucket access', () => {
    const fixture = stackWithPipeline();
    addStage(fixture);
    const policies = Template.fromStack(fixture.stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^PipelineDeployInvokeCodePipelineActionRole') }] },
    });
    const actions = JSON.stringify(Object.values(policies).map((p) => p.Properties.PolicyDocument.Statement));
    expect(actions).not.toMatch(/s3:/);
  });

  test('with crossAccountKeys the action role may decrypt inputs and encrypt outputs with the artifact key', () => {
    const fixture = stackWithPipeline({ crossAccountKeys: true });
    addStage(fixture, { inputs: [fixture.source], outputs: [new codepipeline.Artifact('Out')] });
    const template = Template.fromStack(fixture.stack);
    const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineArtifactsBucketEncryptionKey'), 'Arn'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^PipelineDeployInvokeCodePipelineActionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['kms:Decrypt']), Resource: keyArn }),
          Match.objectLike({ Action: Match.arrayWith(['kms:Encrypt', 'kms:GenerateDataKey*']), Resource: keyArn }),
        ]),
      },
    });
  });

  test('the function role needs no artifact bucket or key access: the event carries credentials', () => {
    const fixture = stackWithPipeline({ crossAccountKeys: true });
    addStage(fixture, { inputs: [fixture.source] });
    const policies = Template.fromStack(fixture.stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DeployFunctionServiceRole') }] },
    });
    expect(JSON.stringify(policies)).not.toMatch(/s3:|kms:/);
  });

  test('no policy in a stack with a stage has a wildcard action', () => {
    const fixture = stackWithPipeline({ crossAccountKeys: true });
    addStage(fixture, { inputs: [fixture.source], outputs: [new codepipeline.Artifact('Out')] });
    const actions = allIamActions(Template.fromStack(fixture.stack));
    expect(actions.length).toBeGreaterThan(10);
    expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  });

  test('the only "*" resources are the job-result grants and lambda:ListFunctions of aws-cdk-lib', () => {
    const fixture = stackWithPipeline();
    addStage(fixture);
    const statements = Object.values(Template.fromStack(fixture.stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const starActions = statements.filter((s) => s.Resource === '*').map((s) => s.Action);
    expect(starActions.sort()).toEqual(['codepipeline:PutJobFailureResult', JOB_RESULT_ACTIONS, 'lambda:ListFunctions'].sort());
  });
});

describe('cdk-nag', () => {
  test('AwsSolutions reports nothing on the library resources, and each suppression says why', () => {
    const fixture = stackWithPipeline({ crossAccountKeys: true });
    addStage(fixture, { inputs: [fixture.source], outputs: [new codepipeline.Artifact('Out')] });
    // cdk-nag 3 as a validation plugin needs a newer aws-cdk-lib (appConstruct on the context): walk the tree directly.
    const report = new AwsSolutionsChecks().validateScope(fixture.stack);
    const violations = report.violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
    const ours = violations.filter((v) => /^Stack\/(Deploy|CodePipelineInvokeCrashReporter)\//.test(v.path));
    expect(ours).toEqual([]);
    // The pipeline and the source bucket (aws-cdk-lib's and the test's, not ours) still have findings: the check ran.
    expect(violations.map((v) => v.rule)).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-S1/)]));
  });

  test('without our suppressions the same check reports the job-result grant: the suppressions are what hides it', () => {
    const fixture = stackWithPipeline();
    addStage(fixture);
    const role = (fixture.stack.node.findChild('Deploy').node.findChild('Function') as lambda.Function).role!;
    const unsuppressed = new Stack(new App(), 'Bare');
    const bare = new iam.Role(unsuppressed, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    PipelineJobFunction.grantJobResults(bare);
    const rulesOf = (scope: Stack) =>
      new AwsSolutionsChecks().validateScope(scope).violations.map((v) => v.ruleName);
    expect(rulesOf(unsuppressed)).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(role.node.metadata.map((m) => m.type)).toContain(Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
  });

  test('the suppressions are also written for cdk-nag 2, with reasons, on our roles and policies only', () => {
    const fixture = stackWithPipeline();
    addStage(fixture);
    const withMetadata = Object.entries(Template.fromStack(fixture.stack).toJSON().Resources as Record<string, any>).filter(
      ([, r]) => r.Metadata?.cdk_nag !== undefined,
    );
    // The roles themselves have nothing to suppress: no managed policy, logs only on their own log groups (issue #12).
    expect(withMetadata.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'CodePipelineInvokeCrashReporterFunctionServiceRoleDefaultPolicy',
      'DeployFunctionServiceRoleDefaultPolicy',
    ]);
    for (const [, resource] of withMetadata) {
      for (const rule of resource.Metadata.cdk_nag.rules_to_suppress) {
        expect(rule.reason.length).toBeGreaterThan(40);
      }
    }
  });
});
