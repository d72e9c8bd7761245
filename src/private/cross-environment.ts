import { createHash } from 'crypto';
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct, IConstruct } from 'constructs';
import { registerCrashReporterTarget } from './crash-reporter';
import { fieldError } from './errors';
import { suppressJobResultRoleFindings } from './nag';
import { PipelineJobFunction } from '../pipeline-job-function';
import { PipelineJobNodejsFunction } from '../pipeline-job-nodejs-function';
import { JOB_REGION_ENV, JOB_RESULT_ROLE_ARN_ENV, JobResultTarget } from '../shared/job-result-target';

/** The id of the construct (in the pipeline's stack) that holds the job-result roles. */
export const JOB_RESULT_ROLES_ID = 'CodePipelineInvokeJobResultRoles';

/** The id of the warning raised when a function in another environment cannot be configured by the construct. */
export const CROSS_ENVIRONMENT_WARNING_ID = 'cdk-codepipeline-invoke:crossEnvironmentFunction';

/** IAM role names: at most 64 characters of `[\w+=,.@-]` (IAM quotas). */
const ROLE_NAME_MAX_LENGTH = 64;
const ROLE_NAME_HASH_LENGTH = 10;

interface Environment {
  readonly account: string;
  readonly region: string;
}

/** Where a function reports, once bound to a pipeline: one environment per function (see `bindJobFunction`). */
interface Binding {
  readonly pipelineEnv: Environment;
  readonly boundAt: string;
  readonly resultRoleArn?: string;
}

const bindings = new WeakMap<lambda.IFunction, Binding>();

/**
 * Makes `fn` able to report the jobs of `pipeline` when it lives in another account or region than the pipeline
 * (nothing happens when both are in the same environment, or when either environment is unknown at synth):
 *
 * - cross-account: a job-result role in the pipeline's account, allowed only PutJobSuccessResult / PutJobFailureResult
 *   (resource "*", required by AWS), which only the function's execution role and its stack's crash-reporter role may
 *   assume; those roles get `sts:AssumeRole` on it. CodePipeline has no resource-based policies, so a principal of the
 *   function's account cannot report a job of the pipeline's account (aws-cdk #15235).
 * - cross-region: the pipeline's region, where the job lives (aws-cdk #18228).
 *
 * The function learns both through its environment (src/shared/job-result-target.ts), and the crash reporter through
 * its map of targets. A function reports to one environment only: binding it to pipelines in two environments is
 * refused, since a job event does not say which region its pipeline is in.
 *
 * @param scope the construct whose path errors name (the stage; the pipeline scope for a CDK Pipelines step)
 * @param fieldName the prop that holds the function, as errors name it
 */
export function bindJobFunction(scope: IConstruct, fieldName: string, fn: lambda.IFunction, pipeline: codepipeline.IPipeline): void {
  const pipelineStack = Stack.of(pipeline);
  const pipelineEnv = { account: pipelineStack.account, region: pipelineStack.region };
  const functionEnv = { account: fn.env.account, region: fn.env.region };
  const crossAccount = differ(pipelineEnv.account, functionEnv.account);
  const crossRegion = differ(pipelineEnv.region, functionEnv.region);

  const previous = bindings.get(fn);
  if (previous !== undefined) {
    if (previous.pipelineEnv.account !== pipelineEnv.account || previous.pipelineEnv.region !== pipelineEnv.region) {
      throw fieldError(
        scope,
        fieldName,
        `(${fn.node.path}) already serves a pipeline in ${describeEnv(previous.pipelineEnv)} (${previous.boundAt}); this pipeline is in ` +
          `${describeEnv(pipelineEnv)}. A job function reports to one pipeline account and region (a job event does not say which ` +
          'region its pipeline is in): give each pipeline environment its own function',
      );
    }
    return; // same environment: already configured
  }
  bindings.set(fn, { pipelineEnv, boundAt: scope.node.path });
  if (!crossAccount && !crossRegion) {
    return;
  }

  if (crossAccount) {
    requireKmsKey(scope, fieldName, fn, pipeline, pipelineEnv, functionEnv);
  }
  requirePhysicalName(scope, fieldName, fn, pipelineStack, functionEnv);

  const target: { roleArn?: string; region?: string } = {};
  if (crossRegion) {
    target.region = pipelineEnv.region;
  }
  if (crossAccount) {
    target.roleArn = createJobResultRole(scope, fieldName, fn, pipelineStack, pipelineEnv, functionEnv);
    bindings.set(fn, { pipelineEnv, boundAt: scope.node.path, resultRoleArn: target.roleArn });
  }
  configureFunction(fn, target, pipelineStack);
}

function differ(a: string, b: string): boolean {
  return !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
}

function describeEnv(env: Environment): string {
  return `account ${env.account}, region ${env.region}`;
}

/**
 * A function in another account reads and writes artifacts with the action role's credentials; the objects are
 * encrypted with the artifact bucket's key, which the other account can use only if it is a customer managed KMS key
 * whose policy lets it in (the S3 managed key cannot be shared across accounts; aws-cdk #32693).
 */
function requireKmsKey(
  scope: IConstruct,
  fieldName: string,
  fn: lambda.IFunction,
  pipeline: codepipeline.IPipeline,
  pipelineEnv: Environment,
  functionEnv: Environment,
): void {
  if (!(pipeline instanceof codepipeline.Pipeline) || pipeline.artifactBucket.encryptionKey !== undefined) {
    return;
  }
  throw fieldError(
    scope,
    fieldName,
    `(${fn.node.path}) is in account ${functionEnv.account}, the pipeline (${pipeline.node.path}) in account ` +
      `${pipelineEnv.account}, and the pipeline's artifact bucket has no KMS key. A cross-account invoke needs one: the ` +
      "function's account reads and writes the artifacts, which are encrypted with the bucket's key, and only a customer " +
      'managed KMS key can be shared with another account. Set `crossAccountKeys: true` on the pipeline (codepipeline.Pipeline ' +
      'or CDK Pipelines\' pipelines.CodePipeline), or give it an artifactBucket encrypted with a KMS key',
  );
}

/** CodePipeline names the function in the pipeline's template: a function in another environment needs a physical name. */
function requirePhysicalName(scope: IConstruct, fieldName: string, fn: lambda.IFunction, pipelineStack: Stack, functionEnv: Environment): void {
  try {
    pipelineStack.resolve(fn.functionArn);
  } catch {
    throw fieldError(
      scope,
      fieldName,
      `(${fn.node.path}) is in ${describeEnv(functionEnv)}, another environment than the pipeline's, and has no physical name, ` +
        "which the pipeline's template needs to refer to it: give it `functionName: PhysicalName.GENERATE_IF_NEEDED` (or a name), " +
        'or use a PipelineJobFunction / PipelineJobNodejsFunction, which do that by default',
    );
  }
}

/** The job-result role in the pipeline's account; returns its ARN (a literal: it is used in the function's account). */
function createJobResultRole(
  scope: IConstruct,
  fieldName: string,
  fn: lambda.IFunction,
  pipelineStack: Stack,
  pipelineEnv: Environment,
  functionEnv: Environment,
): string {
  const trusted: Array<{ what: string; role: iam.IRole }> = [];
  if (fn.role === undefined) {
    throw fieldError(
      scope,
      fieldName,
      `(${fn.node.path}) is in account ${functionEnv.account} and its execution role is not known, so the job-result role in the ` +
        `pipeline's account ${pipelineEnv.account} cannot trust it. Import the function with its role ` +
        '(lambda.Function.fromFunctionAttributes({ functionArn, role: iam.Role.fromRoleArn(...) })), or use a PipelineJobFunction ' +
        'defined in a stack of that account',
    );
  }
  trusted.push({ what: 'the function', role: fn.role });
  const reporter = crashReporterOf(fn);
  if (reporter?.role !== undefined) {
    trusted.push({ what: 'its crash reporter', role: reporter.role });
  }
  const trustedArns = trusted.map(({ role }) => roleArnFor(role, pipelineStack, functionEnv));

  const holder = (pipelineStack.node.tryFindChild(JOB_RESULT_ROLES_ID) as Construct | undefined) ?? new Construct(pipelineStack, JOB_RESULT_ROLES_ID);
  const id = fn.node.path.replace(/\//g, '-');
  const roleName = generatedRoleName(pipelineEnv, `${fn.node.path}/JobResultRole`, `JobResult-${fn.node.id}`);
  // The trust names the account and, by `aws:PrincipalArn`, exactly the two roles: unlike a role ARN as principal, this
  // does not require the roles to exist when the trust policy is created (CDK Pipelines deploys the pipeline's stack
  // first), and survives their re-creation (IAM pins a principal ARN to the role's unique id).
  const role = new iam.Role(holder, id, {
    roleName,
    description: `Reports CodePipeline job results for ${fn.node.path} (account ${functionEnv.account}) in this account (cdk-codepipeline-invoke)`,
    assumedBy: new iam.AccountPrincipal(functionEnv.account).withConditions({ ArnEquals: { 'aws:PrincipalArn': trustedArns } }),
  });
  // PutJobSuccessResult / PutJobFailureResult support no resource-level permissions: "*" (aws-cdk #42).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], resources: ['*'] }),
  );
  suppressJobResultRoleFindings(role);

  const roleArn = literalRoleArn(pipelineEnv, '/', roleName);
  for (const { what, role: trustedRole } of trusted) {
    const grant = trustedRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [roleArn] }));
    // An imported role of another account (or with mutable: false) is an ImmutableRole: it reports the statement as
    // added, but no policy holds it.
    if (!grant.statementAdded || !Construct.isConstruct(grant.policyDependable)) {
      warn(scope, `${what} (${fn.node.path}) has a role the construct cannot change: allow it sts:AssumeRole on ${roleArn} by hand`);
    }
  }
  return roleArn;
}

/**
 * The ARN of a role in the function's account, as a literal the pipeline's template can hold. A role created by CDK
 * without a name (the one lambda.Function creates) gets one: CloudFormation would name it at deployment, too late for
 * the trust policy in the other account.
 */
function roleArnFor(role: iam.IRole, pipelineStack: Stack, functionEnv: Environment): string {
  try {
    const resolved = pipelineStack.resolve(role.roleArn);
    if (typeof resolved === 'string') {
      return resolved;
    }
  } catch {
    // a role without a physical name: named below
  }
  if (role instanceof iam.Role) {
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    // Without a given name, the L2 role renders a token that resolves to nothing (CloudFormation names it).
    if (Stack.of(role).resolve(cfnRole.roleName) === undefined) {
      cfnRole.roleName = generatedRoleName(functionEnv, role.node.path, role.node.path.split('/').slice(1).join('-'));
    }
    const roleName = cfnRole.roleName;
    if (roleName !== undefined && !Token.isUnresolved(roleName)) {
      return literalRoleArn(functionEnv, cfnRole.path ?? '/', roleName);
    }
  }
  return role.roleArn; // resolves to a literal ARN in the pipeline's stack (a named role), or fails with CDK's message
}

function literalRoleArn(env: Environment, path: string, roleName: string): string {
  const partition = RegionInfo.get(env.region).partition ?? 'aws';
  return `arn:${partition}:iam::${env.account}:role${path}${roleName}`;
}

/**
 * A role name unique per account and region (IAM names are global to an account): a readable part, cut to fit, and a
 * hash of the environment and the construct path.
 */
function generatedRoleName(env: Environment, constructPath: string, readable: string): string {
  const hash = createHash('sha256').update(`${env.account}/${env.region}/${constructPath}`).digest('hex').slice(0, ROLE_NAME_HASH_LENGTH);
  const prefix = readable.replace(/[^\w+=,.@-]/g, '-').slice(0, ROLE_NAME_MAX_LENGTH - ROLE_NAME_HASH_LENGTH - 1);
  return `${prefix}-${hash}`;
}

/** The stack's crash reporter, when the function is a job function that reports crashes. */
function crashReporterOf(fn: lambda.IFunction): lambda.IFunction | undefined {
  return fn instanceof PipelineJobFunction || fn instanceof PipelineJobNodejsFunction ? fn.crashReporter : undefined;
}

/** Tells the function (its environment) and its crash reporter (its map of targets) where to report. */
function configureFunction(fn: lambda.IFunction, target: JobResultTarget, pipelineStack: Stack): void {
  const variables: Record<string, string> = {
    ...(target.roleArn !== undefined ? { [JOB_RESULT_ROLE_ARN_ENV]: target.roleArn } : {}),
    ...(target.region !== undefined ? { [JOB_REGION_ENV]: target.region } : {}),
  };
  if (fn instanceof lambda.Function) {
    for (const [name, value] of Object.entries(variables)) {
      fn.addEnvironment(name, value);
    }
  } else {
    const settings = Object.entries(variables).map(([name, value]) => `${name}=${value}`).join(', ');
    warn(fn, `the function is not defined in this app, so the construct cannot set its environment: set ${settings} on it by hand, for jobHandler to report there`);
  }
  const reporter = crashReporterOf(fn);
  if (reporter !== undefined) {
    // Resolved from the pipeline's stack, the generated physical name is a literal (in its own stack, a Ref that would
    // make the reporter depend on the function, which depends on the reporter through its destination: a cycle).
    const name = pipelineStack.resolve(fn.functionName);
    registerCrashReporterTarget(reporter, typeof name === 'string' ? name : fn.functionName, target);
  }
}

function warn(scope: IConstruct, message: string): void {
  Annotations.of(scope).addWarningV2(CROSS_ENVIRONMENT_WARNING_ID, message);
}
