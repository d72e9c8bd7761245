// TEMPORARY home of these limits: they move to src/shared/limits.ts (requested in /work/coord/requests.md); then this
// file re-exports them from there.

/** StageDeclaration/ActionDeclaration `name`: 1 to 100 characters of [A-Za-z0-9.@\-_] (CodePipeline API reference). */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9.@\-_]+$/;
/** ActionDeclaration `namespace`: 1 to 100 characters of [A-Za-z0-9@\-_], no dot (CodePipeline API reference). */
export const ACTION_NAMESPACE_PATTERN = /^[A-Za-z0-9@\-_]+$/;
/** Maximum length of a stage name, an action name and an action namespace (CodePipeline API reference). */
export const PIPELINE_NAME_MAX_LENGTH = 100;
/** An action configuration value (UserParameters) is at least 1 character long (CodePipeline API reference). */
export const USER_PARAMETERS_MIN_LENGTH = 1;
