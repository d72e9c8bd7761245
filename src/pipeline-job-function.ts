import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { completeJobFunction, grantJobResults, jobFunctionDefaults } from './private/job-function-defaults';
import { UserParametersSchema } from './user-parameters-schema';

/**
 * A Lambda function that serves CodePipeline jobs and declares the UserParameters its handler expects.
 *
 * `PipelineJobFunction` and `PipelineJobNodejsFunction` implement it. `LambdaInvokeStage` and `LambdaInvokeStep`
 * check their `userParameters` against the `userParametersSchema` of any function that implements it, as well as
 * against their own.
 */
export interface IPipelineJobFunction extends lambda.IFunction {
  /**
   * The JSON Schema of the UserParameters the function expects.
   *
   * @default - the function declares no schema; the parameters are not checked against it
   */
  readonly userParametersSchema?: UserParametersSchema;
}

/**
 * Options of a job function, on top of everything `lambda.FunctionOptions` offers.
 */
export interface PipelineJobFunctionOptions extends lambda.FunctionOptions {
  /**
   * The runtime of the function.
   *
   * @default lambda.Runtime.NODEJS_24_X, the newest Node.js runtime
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Report a crash as the job's failure. CodePipeline invokes the function asynchronously; when an invocation fails
   * (the process crashed, timed out or ran out of memory, so the handler could not report), Lambda sends the failure
   * to the stack's one crash-reporter function (the `onFailure` destination), which calls `PutJobFailureResult` with
   * the error, e.g. "Task timed out after 300.00 seconds". The pipeline then fails within seconds instead of waiting
   * for the action to time out. Uses the `onFailure` destination: set this to false to pass your own.
   *
   * @default true
   */
  readonly reportCrashes?: boolean;

  /**
   * The retention of the log group the construct creates for the function (ignored when you pass `logGroup`).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logGroupRetention?: logs.RetentionDays;
}

/**
 * Props of a `PipelineJobFunction`.
 *
 * Defaults that differ from `lambda.Function`: `architecture` ARM_64, `timeout` 5 minutes, `memorySize` 512 MB,
 * `retryAttempts` 0 (the runtime reports every failure itself; a crash is reported by the crash reporter), a log group
 * with a one-month retention.
 */
export interface PipelineJobFunctionProps extends PipelineJobFunctionOptions {
  /**
   * The code of the function.
   */
  readonly code: lambda.Code;

  /**
   * The name of the handler, e.g. 'index.handler'.
   */
  readonly handler: string;

  /**
   * The JSON Schema of the UserParameters the function expects. A `LambdaInvokeStage` using this function checks its
   * `userParameters` against it at synth time. Give the handler's `jobHandler({ schema })` the same literal.
   *
   * @default - no check
   */
  readonly userParametersSchema?: UserParametersSchema;
}

/**
 * A Lambda function ready to serve CodePipeline jobs: newest Node.js runtime, arm64, a log group with retention (the
 * role may write to it and to no other log group), the job-result grants, no async retries and crash reporting. Its
 * name is generated when a pipeline in another account or region uses it (`PhysicalName.GENERATE_IF_NEEDED`).
 */
export class PipelineJobFunction extends lambda.Function implements IPipelineJobFunction {
  /**
   * Grants `codepipeline:PutJobSuccessResult` and `codepipeline:PutJobFailureResult`, what a function needs to report
   * a job's result. For an existing function that serves a Lambda invoke action.
   *
   * These actions support no resource-level permissions: the statement's resource is "*" (aws-cdk #42; IAM service
   * authorization reference for AWS CodePipeline).
   *
   * @param grantee the function (or any principal) that reports job results
   */
  public static grantJobResults(grantee: iam.IGrantable): iam.Grant {
    return grantJobResults(grantee);
  }

  /**
   * The JSON Schema of the UserParameters the function expects.
   */
  public readonly userParametersSchema?: UserParametersSchema;

  /**
   * The stack's crash reporter, the `onFailure` destination of this function.
   *
   * @default - none when `reportCrashes` is false
   */
  public readonly crashReporter?: lambda.IFunction;

  constructor(scope: Construct, id: string, props: PipelineJobFunctionProps) {
    const defaults = jobFunctionDefaults(scope, id, props);
    super(scope, id, { ...props, ...defaults.functionProps });
    this.userParametersSchema = props.userParametersSchema;
    this.crashReporter = defaults.crashReporter;
    completeJobFunction(this, defaults);
  }
}
