import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { DEFAULT_LOG_RETENTION } from './defaults';
import { suppressNagFindings } from './nag';
import { CrashReporterFunction } from '../crash-reporter-function';
import { CRASH_REPORTER_TARGETS_ENV, JobResultTarget } from '../shared/job-result-target';

/** The id of the crash reporter in its stack. Part of the contract: renaming it replaces the function. */
export const CRASH_REPORTER_ID = 'CodePipelineInvokeCrashReporter';

/**
 * The stack's one crash reporter: the `onFailure` destination of every PipelineJobFunction in the stack. Lambda hands
 * it the failure record of an invocation that crashed, timed out or ran out of memory (its `requestPayload` is the
 * CodePipeline event), and it reports the job failed with `PutJobFailureResult`, so the pipeline fails within seconds
 * instead of waiting for the action to time out. Its code: src/runtime/crash-reporter.ts, bundled at build time.
 */
export function crashReporterFor(scope: IConstruct): lambda.IFunction {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(CRASH_REPORTER_ID) as CrashReporter | undefined;
  return (existing ?? new CrashReporter(stack, CRASH_REPORTER_ID)).function;
}

/**
 * Tells the crash reporter where to report the jobs of one of its functions that runs in another account or region than
 * its pipeline (the reporter's role is given `sts:AssumeRole` on the result role by the caller).
 */
export function registerCrashReporterTarget(reporter: lambda.IFunction, functionName: string, target: JobResultTarget): void {
  const owner = reporter.node.scope;
  if (!(owner instanceof CrashReporter)) {
    throw new Error(`${reporter.node.path} is not a crash reporter of cdk-codepipeline-invoke`);
  }
  owner.addTarget(functionName, target);
}

class CrashReporter extends Construct {
  public readonly function: lambda.Function;
  private readonly targets = new Map<string, JobResultTarget>();

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: DEFAULT_LOG_RETENTION });
    // Its own role, allowed to log to its own log group only (not Lambda's AWSLambdaBasicExecutionRole: every group).
    const role = new iam.Role(this, 'FunctionServiceRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.function = new CrashReporterFunction(this, 'Function', {
      description: 'Reports a CodePipeline job failed when its Lambda function crashed or timed out (cdk-codepipeline-invoke)',
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      logGroup,
      role,
    });
    // Exactly what it needs: report a failure. PutJobFailureResult supports no resource-level permission, so the
    // resource must be "*" (aws-cdk #42; IAM service authorization reference for CodePipeline).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['codepipeline:PutJobFailureResult'], resources: ['*'] }),
    );
    suppressNagFindings(this.function, undefined, 'log-group');
  }

  addTarget(functionName: string, target: JobResultTarget): void {
    if (this.targets.size === 0) {
      // Only stacks with such functions get the variable: the others' templates stay as they were.
      const stack = Stack.of(this);
      this.function.addEnvironment(
        CRASH_REPORTER_TARGETS_ENV,
        Lazy.string({ produce: () => stack.toJsonString(Object.fromEntries(this.targets)) }),
      );
      this.node.addValidation({ validate: () => this.checkTargetsSize() });
    }
    this.targets.set(functionName, target);
  }

  /** Lambda allows 4 KB of environment variables per function (Lambda quotas); the map must leave room for the rest. */
  private checkTargetsSize(): string[] {
    const size = JSON.stringify(Object.fromEntries(this.targets)).length;
    if (size <= CRASH_REPORTER_TARGETS_MAX_LENGTH) {
      return [];
    }
    return [
      `${CRASH_REPORTER_TARGETS_ENV} would be ${size} characters for ${this.targets.size} functions in other accounts or regions, more ` +
        `than the ${CRASH_REPORTER_TARGETS_MAX_LENGTH} that fit in Lambda's 4 KB of environment variables: spread these functions over more stacks`,
    ];
  }
}

/** Leaves about 1 KB of Lambda's 4 KB environment for the reporter's other variables. */
const CRASH_REPORTER_TARGETS_MAX_LENGTH = 3000;
