import { Duration, PhysicalName } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { crashReporterFor } from './crash-reporter';
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MEMORY_SIZE,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RUNTIME,
  DEFAULT_TIMEOUT,
} from './defaults';
import { childFieldError } from './errors';
import { suppressNagFindings } from './nag';

/** The props both job function constructs understand on top of Lambda's own. */
export interface JobFunctionOptionsInput {
  readonly runtime?: lambda.Runtime;
  readonly functionName?: string;
  readonly architecture?: lambda.Architecture;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly retryAttempts?: number;
  readonly onFailure?: lambda.IDestination;
  readonly logGroup?: logs.ILogGroupRef;
  readonly logRetention?: logs.RetentionDays;
  readonly logGroupRetention?: logs.RetentionDays;
  readonly reportCrashes?: boolean;
  readonly role?: iam.IRole;
  readonly vpc?: ec2.IVpc;
}

/** The Lambda props a job function sets in place of the user's (each one the user's value when given). */
export interface JobFunctionProps {
  readonly runtime: lambda.Runtime;
  readonly functionName: string;
  readonly architecture: lambda.Architecture;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly retryAttempts: number;
  readonly onFailure?: lambda.IDestination;
  readonly logGroup?: logs.ILogGroupRef;
  /** The execution role: the user's, or one the construct made (then `logGrant` says how it may log). */
  readonly role?: iam.IRole;
}

export interface JobFunctionDefaults {
  /** Spread over the user's props when calling the Lambda function's constructor. */
  readonly functionProps: JobFunctionProps;
  readonly crashReporter?: lambda.IFunction;
  /**
   * 'log-group': the role may write to the function's own log group only. 'basic-execution-role': Lambda's managed
   * policy (logs on every log group), when the construct cannot name the log group. undefined: the user's role.
   */
  readonly logGrant?: 'log-group' | 'basic-execution-role';
}

/**
 * The defaults of a job function, computed before `super()` (hence scope + id: the log group is created next to the
 * function, as `<id>LogGroup`, because the function's `logGroup` prop must exist when the function does).
 */
export function jobFunctionDefaults(scope: Construct, id: string, props: JobFunctionOptionsInput): JobFunctionDefaults {
  const reportCrashes = props.reportCrashes ?? true;
  if (reportCrashes && props.onFailure !== undefined) {
    throw childFieldError(
      scope,
      id,
      'onFailure',
      'is taken by crash reporting (reportCrashes, default true): set reportCrashes: false to use your own destination',
    );
  }
  if (props.logGroupRetention !== undefined && (props.logGroup !== undefined || props.logRetention !== undefined)) {
    throw childFieldError(scope, id, 'logGroupRetention', 'applies to the log group the construct creates: drop it when you pass logGroup or logRetention');
  }
  const crashReporter = reportCrashes ? crashReporterFor(scope) : undefined;
  const logGroup = logGroupFor(scope, id, props);
  const { role, logGrant } = executionRoleFor(scope, id, props, logGroup);
  return {
    functionProps: {
      runtime: props.runtime ?? DEFAULT_RUNTIME,
      // A pipeline in another account or region refers to the function by name: generated then, and only then.
      functionName: props.functionName ?? PhysicalName.GENERATE_IF_NEEDED,
      architecture: props.architecture ?? DEFAULT_ARCHITECTURE,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE,
      retryAttempts: props.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
      onFailure: crashReporter ? new destinations.LambdaDestination(crashReporter) : props.onFailure,
      logGroup,
      role,
    },
    crashReporter,
    logGrant,
  };
}

/** What a job function does once Lambda's constructor has run: the job-result grant and the cdk-nag suppressions. */
export function completeJobFunction(fn: lambda.Function, defaults: JobFunctionDefaults): void {
  grantJobResults(fn);
  suppressNagFindings(fn, defaults.crashReporter, defaults.logGrant);
}

/**
 * Grants `codepipeline:PutJobSuccessResult` and `codepipeline:PutJobFailureResult`. These actions support no
 * resource-level permissions: the resource is "*" (aws-cdk #42; IAM service authorization reference for CodePipeline).
 */
export function grantJobResults(grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
    resourceArns: ['*'],
  });
}

const BASIC_EXECUTION_ROLE = 'service-role/AWSLambdaBasicExecutionRole';
const VPC_ACCESS_EXECUTION_ROLE = 'service-role/AWSLambdaVPCAccessExecutionRole';

/**
 * The execution role, made here rather than by lambda.Function: Lambda's default role carries
 * AWSLambdaBasicExecutionRole, whose logs:CreateLogGroup / CreateLogStream / PutLogEvents apply to every log group of
 * the account. The function has its own log group, so its role may write there only (logs:CreateLogStream and
 * logs:PutLogEvents on that group's streams). When the log group is not one the construct can grant on (the deprecated
 * logRetention, or a log group given without grant methods), the role gets the managed policy as Lambda's would.
 *
 * Made in the scope as `<id>ServiceRole`, beside the log group: it must exist before the function does.
 */
export function executionRoleFor(
  scope: Construct,
  id: string,
  props: JobFunctionOptionsInput,
  logGroup: logs.ILogGroupRef | undefined,
): { role?: iam.IRole; logGrant?: JobFunctionDefaults['logGrant'] } {
  if (props.role !== undefined) {
    return { role: props.role };
  }
  const role = new iam.Role(scope, `${id}ServiceRole`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    // What lambda.Function adds to the role it makes for a function in a VPC (ENI management).
    managedPolicies: props.vpc !== undefined ? [iam.ManagedPolicy.fromAwsManagedPolicyName(VPC_ACCESS_EXECUTION_ROLE)] : [],
  });
  if (logGroup !== undefined && isGrantableLogGroup(logGroup)) {
    logGroup.grantWrite(role);
    return { role, logGrant: 'log-group' };
  }
  role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName(BASIC_EXECUTION_ROLE));
  return { role, logGrant: 'basic-execution-role' };
}

function isGrantableLogGroup(logGroup: logs.ILogGroupRef): logGroup is logs.ILogGroup {
  return typeof (logGroup as Partial<logs.ILogGroup>).grantWrite === 'function';
}

function logGroupFor(scope: Construct, id: string, props: JobFunctionOptionsInput): logs.ILogGroupRef | undefined {
  if (props.logGroup !== undefined || props.logRetention !== undefined) {
    return props.logGroup; // the user's choice (the deprecated logRetention keeps working as Lambda implements it)
  }
  return new logs.LogGroup(scope, `${id}LogGroup`, { retention: props.logGroupRetention ?? DEFAULT_LOG_RETENTION });
}
