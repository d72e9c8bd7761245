import { createHash } from 'crypto';
import { CfnOutput, Tokenization } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { PipelineJobFunction } from './pipeline-job-function';
import { bindJobFunction } from './private/cross-environment';
import { fieldError, stepFieldError } from './private/errors';
import { isPlainObject } from './private/tokens';
import { isValidNamespace, isValidVariableName } from './private/validate-names';
import { renderActionUserParameters } from './private/validate-user-parameters';
import { LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS, OUTPUT_VARIABLE_NAME_PATTERN, PIPELINE_NAME_MAX_LENGTH } from './shared/limits';
import { UserParameters } from './user-parameters';
import { UserParametersSchema } from './user-parameters-schema';

/**
 * Properties of a `LambdaInvokeStep`.
 */
export interface LambdaInvokeStepProps {
  /**
   * The function CodePipeline invokes: typically a `PipelineJobFunction`.
   *
   * Define it in the pipeline's own stack (or in a stack the pipeline stack may reference), not in a stage that the
   * pipeline deploys: the action refers to the function by name at the time the pipeline itself is deployed.
   *
   * The stack may be in another account or region than the pipeline (e.g. the workload account of the stage it
   * checks): a job-result role is then created in the pipeline's account and the function reports through it (see
   * the README, "Cross-account and cross-region functions"). A function serves pipelines of one account and region.
   */
  readonly function: lambda.IFunction;

  /**
   * The UserParameters the function receives.
   *
   * `UserParameters.fromObject()` may contain `pipelines.StackOutputReference`s (or `CfnOutput`s) of stacks that
   * the pipeline deploys, anywhere in the object: they become `#{Namespace.OutputName}` references that CodePipeline
   * replaces with the deployed value, and the step runs after those stacks.
   *
   * @default - the action has no UserParameters
   */
  readonly userParameters?: UserParameters;

  /**
   * The JSON Schema the UserParameters must satisfy, checked when the pipeline is synthesized (stack outputs, tokens
   * and `#{...}` references are accepted wherever the schema asks for a string). The schema of a
   * `PipelineJobFunction`, `PipelineJobNodejsFunction` or any `IPipelineJobFunction` (given as `function`) is checked
   * as well.
   *
   * @default - the function's schema, if it has one
   */
  readonly userParametersSchema?: UserParametersSchema;

  /**
   * The file set the function receives as its first input artifact.
   *
   * @default - no primary input
   */
  readonly input?: pipelines.IFileSetProducer;

  /**
   * More file sets the function receives, as input artifacts after `input`, in this order.
   *
   * A Lambda invoke action takes at most 5 input artifacts in all. CDK Pipelines names the artifacts
   * (`<producer step id>_<file set id>`, e.g. `Synth_Output`); a handler can rely on their order.
   *
   * @default - no additional inputs
   */
  readonly additionalInputs?: pipelines.IFileSetProducer[];

  /**
   * Whether the function produces an output artifact that later steps can consume as a file set.
   *
   * When true, the step's `primaryOutput` is that file set: pass the step as the `input` of a later step (a
   * `ShellStep`, another `LambdaInvokeStep`). The handler uploads it as its only output artifact
   * (`job.outputArtifact()`); CDK Pipelines names it `<step id>_Output`.
   *
   * @default false
   */
  readonly primaryOutput?: boolean;

  /**
   * The namespace of the action's output variables. `variable(name)` returns references in this namespace.
   *
   * At most 100 characters of `A-Za-z0-9@_-`, unique in the pipeline.
   *
   * @default - the step id with every other character replaced by `_` (e.g. `SmokeTest`); the action gets a
   * namespace only when one is given here or `variable()` was called
   */
  readonly variablesNamespace?: string;
}

/**
 * A CDK Pipelines step that invokes a Lambda function through a CodePipeline Lambda invoke action.
 *
 * Add it to the `pre` or `post` steps of a stage or a wave, or to the `stackSteps` of a stack. It passes its
 * UserParameters (with stack outputs resolved by CodePipeline), its input file sets and, when asked, an output file
 * set to the function, and gives later steps its output variables through `variable(name)`.
 *
 * The function is granted `codepipeline:PutJobSuccessResult` and `codepipeline:PutJobFailureResult`; the pipeline
 * may invoke it.
 */
export class LambdaInvokeStep extends pipelines.Step implements pipelines.ICodePipelineActionFactory {
  /** The function the action invokes. */
  public readonly function: lambda.IFunction;

  /**
   * The UserParameters as given.
   *
   * @default - no UserParameters
   */
  public readonly userParameters?: UserParameters;

  /**
   * The schema the UserParameters are checked against at synth.
   *
   * @default - no schema
   */
  public readonly userParametersSchema?: UserParametersSchema;

  /** The file sets the function receives, in the order of the action's input artifacts (`input` first). */
  public readonly inputs: pipelines.FileSet[];

  private readonly namespaceName: string;
  private namespaceUsed: boolean;
  private produced = false;
  /** The UserParameters value with every `CfnOutput` replaced by its `StackOutputReference`. */
  private readonly parameterValue: unknown;
  private readonly stackOutputReferences: pipelines.StackOutputReference[];

  constructor(id: string, props: LambdaInvokeStepProps) {
    super(id);
    this.function = props.function;
    this.userParameters = props.userParameters;
    this.userParametersSchema = props.userParametersSchema;

    // A given namespace is always set on the action; the derived one only once something refers to it.
    this.namespaceUsed = props.variablesNamespace !== undefined;
    this.namespaceName = props.variablesNamespace ?? namespaceFromStepId(id);
    if (props.variablesNamespace !== undefined) {
      checkNamespace(id, props.variablesNamespace);
    }

    this.inputs = collectInputs(id, props.input, props.additionalInputs ?? []);
    this.inputs.forEach((fileSet) => this.addDependencyFileSet(fileSet));
    if (props.primaryOutput) {
      this.configurePrimaryOutput(new pipelines.FileSet('Output', this));
    }

    const found: pipelines.StackOutputReference[] = [];
    this.parameterValue = mapStackOutputs(
      props.userParameters?._value,
      (ref) => {
        found.push(ref);
        return ref;
      },
      id,
    );
    this.stackOutputReferences = dedupe(found);
    // Steps that export variables (CodeBuildStep.exportedVariable) appear as tokens in the parameters: recording them
    // orders this step after their producers and lets the engine resolve them (aws-cdk #19173).
    this.discoverReferencedOutputs(this.parameterValue);
  }

  /**
   * The namespace of this step's output variables.
   *
   * Reading it gives the action this namespace, as `variable()` does.
   */
  public get variablesNamespace(): string {
    this.useNamespace('variablesNamespace');
    return this.namespaceName;
  }

  /**
   * A reference to an output variable of this step, `#{Namespace.name}`, for the configuration of a later action
   * (e.g. the `env` of a `ShellStep` or the UserParameters of another `LambdaInvokeStep`).
   *
   * The handler sets the variable by returning `{ outputVariables: { name: '...' } }`. The later step must run after
   * this one: order them with `Step.sequence()` or `addStepDependency()` when they are in the same `pre`/`post` list.
   *
   * @param variableName the name of the variable, as the handler returns it
   */
  public variable(variableName: string): string {
    if (!isValidVariableName(variableName)) {
      throw stepFieldError(this.id, 'variable name', `${JSON.stringify(variableName)} must match ${OUTPUT_VARIABLE_NAME_PATTERN}`);
    }
    this.useNamespace('variable()');
    return `#{${this.namespaceName}.${variableName}}`;
  }

  /** The stack outputs the UserParameters refer to: the pipeline captures them and runs this step after their stacks. */
  public get consumedStackOutputs(): pipelines.StackOutputReference[] {
    return [...this.stackOutputReferences];
  }

  /**
   * Adds the Lambda invoke action to the pipeline stage. Called by CDK Pipelines; not for direct use.
   */
  public produceAction(
    stage: codepipeline.IStage,
    options: pipelines.ProduceActionOptions,
  ): pipelines.CodePipelineActionFactoryResult {
    const variablesNamespace = this.namespaceUsed ? this.namespaceName : options.variablesNamespace;
    if (this.namespaceUsed) {
      claimNamespace(options, this.namespaceName, this);
    }
    const userParameters = this.checkUserParameters(options);
    bindJobFunction(options.scope, `${this}.function`, this.function, stage.pipeline);
    PipelineJobFunction.grantJobResults(this.function);
    const output = this.primaryOutput;
    stage.addAction(
      new cpactions.LambdaInvokeAction({
        actionName: options.actionName,
        runOrder: options.runOrder,
        lambda: this.function,
        userParametersString: userParameters,
        inputs: this.inputs.map((fileSet) => options.artifacts.toCodePipeline(fileSet)),
        outputs: output ? [options.artifacts.toCodePipeline(output)] : undefined,
        variablesNamespace,
      }),
    );
    this.produced = true;
    return { runOrdersConsumed: 1 };
  }

  /**
   * Checks the parameters (stack outputs rendered as `#{...}` references) against the step's schema and the
   * function's own one, as `LambdaInvokeStage` does, then renders them.
   */
  private checkUserParameters(options: pipelines.ProduceActionOptions): string | undefined {
    const params = this.resolvedUserParameters(options.stackOutputsMap);
    return renderActionUserParameters(options.scope, `${this}.userParameters`, params, this.userParametersSchema, this.function);
  }

  /** The UserParameters with each stack output replaced by the pipeline variable that carries it. */
  private resolvedUserParameters(stackOutputsMap: pipelines.StackOutputsMap): UserParameters | undefined {
    if (this.userParameters === undefined || this.stackOutputReferences.length === 0) {
      return this.userParameters;
    }
    const resolved = mapStackOutputs(this.parameterValue, (ref) => stackOutputsMap.toCodePipeline(ref), this.id);
    return UserParameters.fromObject(resolved as { [key: string]: any });
  }

  private useNamespace(via: string): void {
    if (this.produced && !this.namespaceUsed) {
      throw stepFieldError(
        this.id,
        via,
        'was used after the pipeline was built, so the action has no variables namespace; use it before the pipeline ' +
          'is built (before app.synth() or buildPipeline()), or set variablesNamespace',
      );
    }
    this.namespaceUsed = true;
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Inputs

function collectInputs(
  stepId: string,
  input: pipelines.IFileSetProducer | undefined,
  additionalInputs: readonly pipelines.IFileSetProducer[],
): pipelines.FileSet[] {
  const fileSets: pipelines.FileSet[] = [];
  const add = (producer: pipelines.IFileSetProducer, what: string) => {
    const fileSet = producer.primaryOutput;
    if (!fileSet) {
      throw stepFieldError(stepId, what, `must be a step that produces a file set, got ${producer}`);
    }
    if (fileSets.includes(fileSet)) {
      throw stepFieldError(stepId, what, `(${fileSet}) is already an input of this step`);
    }
    fileSets.push(fileSet);
  };
  if (input) {
    add(input, 'input');
  }
  additionalInputs.forEach((producer, i) => add(producer, `additionalInputs[${i}]`));
  if (fileSets.length > LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS) {
    throw stepFieldError(
      stepId,
      'additionalInputs',
      `hold too many file sets: a Lambda invoke action takes at most ${LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS} input ` +
        `artifacts, got ${fileSets.length} (input and additionalInputs)`,
    );
  }
  return fileSets;
}

// -----------------------------------------------------------------------------------------------------------------
// Variables namespace

function namespaceFromStepId(stepId: string): string {
  const sanitized = stepId.replace(/[^A-Za-z0-9@_-]/g, '_');
  if (sanitized.length <= PIPELINE_NAME_MAX_LENGTH) {
    return sanitized;
  }
  // Too long for CodePipeline: keep a readable prefix and make it unique with a hash of the whole id.
  const hash = createHash('sha256').update(stepId).digest('hex').slice(0, 8);
  return `${sanitized.slice(0, PIPELINE_NAME_MAX_LENGTH - hash.length - 1)}_${hash}`;
}

function checkNamespace(stepId: string, namespace: string): void {
  if (!isValidNamespace(namespace)) {
    throw stepFieldError(
      stepId,
      'variablesNamespace',
      `must be 1 to ${PIPELINE_NAME_MAX_LENGTH} characters of A-Za-z0-9@_- (got ${JSON.stringify(namespace)})`,
    );
  }
}

// CodePipeline rejects a pipeline in which two actions share a namespace; say so at synth, naming both steps.
const namespacesByPipeline = new WeakMap<object, Map<string, LambdaInvokeStep>>();

function claimNamespace(options: pipelines.ProduceActionOptions, namespace: string, step: LambdaInvokeStep): void {
  let claimed = namespacesByPipeline.get(options.pipeline);
  if (!claimed) {
    claimed = new Map();
    namespacesByPipeline.set(options.pipeline, claimed);
  }
  const owner = claimed.get(namespace);
  if (owner !== undefined && owner !== step) {
    throw fieldError(
      options.scope,
      `${step}.variablesNamespace`,
      `is taken: variables namespace '${namespace}' is already used by LambdaInvokeStep '${owner.id}' in this ` +
        'pipeline; give one of them another variablesNamespace',
    );
  }
  claimed.set(namespace, step);
}

// -----------------------------------------------------------------------------------------------------------------
// Stack outputs in UserParameters

const JSII_RTTI = Symbol.for('jsii.rtti');

/**
 * A copy of `value` in which every `StackOutputReference` (and every `CfnOutput`, turned into its reference) was
 * replaced by `replace(ref)`. Plain objects and arrays are copied; tokens, strings and other values stay as they are.
 */
function mapStackOutputs(
  value: unknown,
  replace: (ref: pipelines.StackOutputReference) => unknown,
  stepId: string,
): unknown {
  const ancestors = new Set<object>();
  const visit = (x: unknown, path: string): unknown => {
    if (x === null || typeof x !== 'object') {
      return x;
    }
    if (isStackOutputReference(x)) {
      return replace(x);
    }
    if (isCfnOutput(x)) {
      return replace(pipelines.StackOutputReference.fromCfnOutput(x));
    }
    if (Tokenization.isResolvable(x)) {
      return x;
    }
    if (Construct.isConstruct(x)) {
      throw stepFieldError(
        stepId,
        `userParameters${path}`,
        `is a construct (${x.node.path}), not JSON data: pass one of its attributes, or a CfnOutput of a deployed stack`,
      );
    }
    if (!Array.isArray(x) && !isPlainObject(x)) {
      return x;
    }
    if (ancestors.has(x)) {
      throw stepFieldError(stepId, `userParameters${path}`, 'contains itself, not JSON data');
    }
    ancestors.add(x);
    const copy = Array.isArray(x)
      ? x.map((item, i) => visit(item, `${path}[${i}]`))
      : Object.fromEntries(Object.entries(x).map(([key, item]) => [key, visit(item, joinKey(path, key))]));
    ancestors.delete(x);
    return copy;
  };
  return visit(value, '');
}

/**
 * Recognises a `StackOutputReference` by class, or by its jsii type id when it comes from another copy of
 * aws-cdk-lib (e.g. created in another jsii language and handed over inside a plain object).
 */
function isStackOutputReference(x: object): x is pipelines.StackOutputReference {
  return x instanceof pipelines.StackOutputReference || jsiiTypeOf(x) === 'aws-cdk-lib.pipelines.StackOutputReference';
}

function isCfnOutput(x: object): x is CfnOutput {
  return x instanceof CfnOutput || jsiiTypeOf(x) === 'aws-cdk-lib.CfnOutput';
}

function jsiiTypeOf(x: object): string | undefined {
  const rtti = (x.constructor as unknown as { [JSII_RTTI]?: { fqn?: string } } | undefined)?.[JSII_RTTI];
  return rtti?.fqn;
}

function joinKey(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
