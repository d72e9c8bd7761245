import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PipelineJobFunction, PipelineJobFunctionOptions } from './pipeline-job-function';
import { bindJobFunction } from './private/cross-environment';
import { fieldError } from './private/errors';
import {
  validateArtifactCount,
  validateNamespace,
  validatePipelineName,
  validateVariableName,
} from './private/validate-names';
import { renderActionUserParameters } from './private/validate-user-parameters';
import { LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS, LAMBDA_INVOKE_MAX_OUTPUT_ARTIFACTS } from './shared/limits';
import { UserParameters } from './user-parameters';
import { UserParametersSchema } from './user-parameters-schema';

/**
 * Props of a `LambdaInvokeStage`. Give either `function`, or `code` + `handler` (then the stage provisions a
 * `PipelineJobFunction`).
 */
export interface LambdaInvokeStageProps {
  /**
   * The pipeline to add the stage to.
   */
  readonly pipeline: codepipeline.Pipeline;

  /**
   * The name of the stage: 1 to 100 characters of `[A-Za-z0-9.@\-_]`.
   */
  readonly stageName: string;

  /**
   * Where to put the stage in the pipeline.
   *
   * @default - after the last stage added so far
   */
  readonly placement?: codepipeline.StagePlacement;

  /**
   * The name of the action: 1 to 100 characters of `[A-Za-z0-9.@\-_]`.
   *
   * @default 'Invoke'
   */
  readonly actionName?: string;

  /**
   * The run order of the action in the stage.
   *
   * @default 1
   */
  readonly runOrder?: number;

  /**
   * The function to invoke: any Lambda function. A `PipelineJobFunction` or `PipelineJobNodejsFunction` brings its
   * grants, crash reporting and UserParameters schema; any other function gets the job-result grant when CodePipeline's
   * action binds it (only if CDK manages its role: for an imported function, grant it yourself with
   * `PipelineJobFunction.grantJobResults`).
   *
   * The function may live in another account or region than the pipeline: then a job-result role is created in the
   * pipeline's account, and the function's environment names it and the pipeline's region (see the README,
   * "Cross-account and cross-region functions"). A function serves pipelines of one account and region only.
   *
   * @default - a `PipelineJobFunction` from `code` and `handler`
   */
  readonly function?: lambda.IFunction;

  /**
   * The code of the function the stage provisions (with `handler`; not with `function`).
   *
   * @default - use `function`
   */
  readonly code?: lambda.Code;

  /**
   * The handler of the function the stage provisions, e.g. 'index.handler' (with `code`; not with `function`).
   *
   * @default - use `function`
   */
  readonly handler?: string;

  /**
   * More options of the function the stage provisions from `code` and `handler` (runtime, timeout, environment...).
   *
   * @default - the defaults of `PipelineJobFunction`
   */
  readonly functionOptions?: PipelineJobFunctionOptions;

  /**
   * The UserParameters of the action (at most 1000 characters once rendered and substituted).
   *
   * @default - none
   */
  readonly userParameters?: UserParameters;

  /**
   * The JSON Schema the `userParameters` must satisfy, checked at synth time. The schema of a `PipelineJobFunction`
   * (or any `IPipelineJobFunction`, given as `function`) is checked as well.
   *
   * @default - the function's schema, if it has one
   */
  readonly userParametersSchema?: UserParametersSchema;

  /**
   * The input artifacts of the action (0 to 5). The function receives them in the event, with credentials to read
   * them; the action role gets read access to the artifact bucket (and its KMS key).
   *
   * @default - none
   */
  readonly inputs?: codepipeline.Artifact[];

  /**
   * The output artifacts of the action (0 to 5); the action role gets write access to the artifact bucket.
   *
   * @default - none
   */
  readonly outputs?: codepipeline.Artifact[];

  /**
   * The namespace of the action's output variables: 1 to 100 characters of `[A-Za-z0-9@\-_]`.
   *
   * @default - generated when `variable()` is used
   */
  readonly variablesNamespace?: string;

  /**
   * The role CodePipeline assumes to invoke the function.
   *
   * @default - a new role, as `LambdaInvokeAction` creates
   */
  readonly role?: iam.IRole;
}

/**
 * A pipeline stage holding one Lambda invoke action (aws-cdk-lib's `LambdaInvokeAction`), with UserParameters checked
 * at synth time against a JSON Schema.
 */
export class LambdaInvokeStage extends Construct {
  /**
   * The function the action invokes.
   */
  public readonly function: lambda.IFunction;

  /**
   * The Lambda invoke action.
   */
  public readonly action: codepipeline_actions.LambdaInvokeAction;

  /**
   * The stage added to the pipeline.
   */
  public readonly stage: codepipeline.IStage;

  constructor(scope: Construct, id: string, props: LambdaInvokeStageProps) {
    super(scope, id);
    validatePipelineName(this, 'stageName', props.stageName);
    validatePipelineName(this, 'actionName', props.actionName);
    validateNamespace(this, 'variablesNamespace', props.variablesNamespace);
    validateArtifactCount(this, 'inputs', props.inputs, LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS);
    validateArtifactCount(this, 'outputs', props.outputs, LAMBDA_INVOKE_MAX_OUTPUT_ARTIFACTS);

    this.function = this.functionFrom(props);
    bindJobFunction(this, 'function', this.function, props.pipeline);
    const userParametersString = renderActionUserParameters(
      this,
      'userParameters',
      props.userParameters,
      props.userParametersSchema,
      this.function,
    );

    this.action = new codepipeline_actions.LambdaInvokeAction({
      actionName: props.actionName ?? 'Invoke',
      lambda: this.function,
      runOrder: props.runOrder,
      inputs: props.inputs,
      outputs: props.outputs,
      variablesNamespace: props.variablesNamespace,
      role: props.role,
      userParametersString,
    });
    this.stage = props.pipeline.addStage({
      stageName: props.stageName,
      placement: props.placement,
      actions: [this.action],
    });
  }

  /**
   * A reference to an output variable of the action (`#{Namespace.name}`), for the configuration of a later action.
   * The function reports it in `outputVariables`.
   *
   * @param variableName the variable: `[A-Za-z0-9@\-_]+`
   */
  public variable(variableName: string): string {
    validateVariableName(this, 'variable()', variableName);
    return this.action.variable(variableName);
  }

  private functionFrom(props: LambdaInvokeStageProps): lambda.IFunction {
    if (props.function !== undefined) {
      if (props.code !== undefined || props.handler !== undefined || props.functionOptions !== undefined) {
        throw fieldError(this, 'function', 'is given together with code/handler/functionOptions: give either an existing function, or code + handler');
      }
      return props.function;
    }
    if (props.code === undefined || props.handler === undefined) {
      throw fieldError(this, 'function', 'is missing: give either an existing function, or code + handler (both)');
    }
    return new PipelineJobFunction(this, 'Function', {
      ...props.functionOptions,
      code: props.code,
      handler: props.handler,
      userParametersSchema: props.userParametersSchema,
    });
  }
}
