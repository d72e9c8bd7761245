import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { IPipelineJobFunction } from './pipeline-job-function';
import { childFieldError } from './private/errors';
import { completeJobFunction, jobFunctionDefaults } from './private/job-function-defaults';
import { UserParametersSchema } from './user-parameters-schema';

/**
 * Props of a `PipelineJobNodejsFunction`: everything of `NodejsFunctionProps` (`entry`, `handler`, `bundling`, ...)
 * with the defaults of a `PipelineJobFunction`. `entry` is required.
 */
export interface PipelineJobNodejsFunctionProps extends nodejs.NodejsFunctionProps {
  /**
   * Report a crash as the job's failure (see `PipelineJobFunctionOptions.reportCrashes`).
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

  /**
   * The JSON Schema of the UserParameters the function expects (see `PipelineJobFunctionProps.userParametersSchema`).
   *
   * @default - no check
   */
  readonly userParametersSchema?: UserParametersSchema;
}

/**
 * A `PipelineJobFunction` built from a TypeScript (or JavaScript) entry file: bundled with esbuild at synth time, as
 * `NodejsFunction` does (esbuild must be installed where you synthesize; `@aws-sdk/*` stays external, the runtime
 * provides it). Same defaults, grants and crash reporting as `PipelineJobFunction`; the bundle is minified unless
 * `bundling` says otherwise.
 */
export class PipelineJobNodejsFunction extends nodejs.NodejsFunction implements IPipelineJobFunction {
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

  constructor(scope: Construct, id: string, props: PipelineJobNodejsFunctionProps) {
    if (props.entry === undefined) {
      // NodejsFunction would guess the entry from the file that calls it: that file is this one, not the user's.
      throw childFieldError(scope, id, 'entry', 'is required: the path of the handler file, e.g. path.join(__dirname, "handler.ts")');
    }
    const defaults = jobFunctionDefaults(scope, id, props);
    super(scope, id, { ...props, ...defaults.functionProps, bundling: { minify: true, ...props.bundling } });
    this.userParametersSchema = props.userParametersSchema;
    this.crashReporter = defaults.crashReporter;
    completeJobFunction(this, defaults);
  }
}
