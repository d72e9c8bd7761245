/**
 * Pipeline variable references, `#{Namespace.Variable}`, in an action's configuration: CodePipeline replaces them
 * textually before the action runs. The namespace is `codepipeline` (e.g. `#{codepipeline.PipelineExecutionId}`),
 * `variables` (pipeline-level variables) or the namespace given to an upstream action
 * (https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html).
 *
 * Both patterns are global: use them with `replace`/`matchAll`, or test with `new RegExp(p.source)`.
 */

/**
 * Any `#{...}` text: what CodePipeline may replace, whatever its parts look like. The constructs use it at synth,
 * where mistaking a reference for literal text would raise a wrong error (a length over the limit, a pattern
 * mismatch), while mistaking odd text for a reference only skips a check.
 */
export const ANY_VARIABLE_REFERENCE = /#\{[^{}]+\}/g;

/**
 * A well-formed `#{Namespace.Variable}`, with the namespace (group 1) and the variable name (group 2) captured to look
 * its value up. Both use the characters of the API model's `ActionNamespace` and `OutputVariablesKey`
 * (`[A-Za-z0-9@\-_]+`). The local runner substitutes with it, as CodePipeline would.
 */
export const VARIABLE_REFERENCE_PARTS = /#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}/g;
