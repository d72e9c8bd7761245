/**
 * AWS limits the library is built on, in one place for the constructs (synth time) and the runtime (run time).
 * Never repeat one of these numbers elsewhere: import it.
 *
 * Sources: CodePipeline quotas (https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html) and the
 * CodePipeline API model (`codepipeline-2015-07-09`; its job API part is test/fixtures/aws/codepipeline-job-api-shapes.json,
 * checked against these limits by test/local/job-api-shapes.test.ts; shapes named below).
 */

/** Action configuration values (UserParameters) are at most 1000 characters after variable substitution (quotas). */
export const USER_PARAMETERS_MAX_LENGTH = 1000;

/** The whole resolved action configuration is at most 100 KB (quotas). */
export const ACTION_CONFIGURATION_MAX_BYTES = 100 * 1024;

/** `ContinuationToken`: min 1, max 2048 characters (API model). */
export const CONTINUATION_TOKEN_MAX_LENGTH = 2048;

/** `OutputVariablesKey` pattern (API model). */
export const OUTPUT_VARIABLE_NAME_PATTERN = /^[A-Za-z0-9@\-_]+$/;

/** All output variable values of one action together: at most 122,880 bytes (quotas; OutputVariablesSizeExceededException). */
export const OUTPUT_VARIABLES_MAX_BYTES = 122_880;

/** `FailureDetails.message`: 1 to 5000 characters (API model). */
export const FAILURE_MESSAGE_MAX_LENGTH = 5000;

/** `FailureDetails.externalExecutionId` / `ExecutionDetails.externalExecutionId`: at most 1500 characters (API model). */
export const EXTERNAL_EXECUTION_ID_MAX_LENGTH = 1500;

/** `ExecutionDetails.summary`: at most 2048 characters (API model). */
export const EXECUTION_SUMMARY_MAX_LENGTH = 2048;

/** `ExecutionDetails.percentComplete`: 0 to 100 (API model). */
export const PERCENT_COMPLETE_MIN = 0;
export const PERCENT_COMPLETE_MAX = 100;

/**
 * `JobId`: a UUID (API model pattern `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`). Letters beyond
 * hex are accepted in the same shape because AWS's own documented sample events use placeholders such as
 * `c0d76431-b0e7-xmpl-97e3-e8ee786eb6f6`; anything else (NUL bytes, paths, megabytes of text) is refused before a
 * report would be retried against it.
 */
export const JOB_ID_PATTERN = /^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$/;

/** `FailureType` enum (API model). */
export const FAILURE_TYPES = [
  'JobFailed',
  'ConfigurationError',
  'PermissionError',
  'RevisionOutOfSync',
  'RevisionUnavailable',
  'SystemUnavailable',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

/** A Lambda invoke action may have 0 to 5 input artifacts and 0 to 5 output artifacts (CodePipeline action structure). */
export const LAMBDA_INVOKE_MAX_INPUT_ARTIFACTS = 5;
export const LAMBDA_INVOKE_MAX_OUTPUT_ARTIFACTS = 5;

/**
 * A Lambda invoke action runs up to 24 hours if the function reports progress (a continuation token) at least every
 * 20 minutes (quotas).
 */
export const MAX_CONTINUATION_INTERVAL_MINUTES = 20;
export const MAX_ACTION_DURATION_HOURS = 24;

/** StageDeclaration/ActionDeclaration `name`: 1 to 100 characters of [A-Za-z0-9.@\-_] (CodePipeline API reference). */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9.@\-_]+$/;

/** ActionDeclaration `namespace`: 1 to 100 characters of [A-Za-z0-9@\-_], no dot (CodePipeline API reference). */
export const ACTION_NAMESPACE_PATTERN = /^[A-Za-z0-9@\-_]+$/;

/** Maximum length of a stage name, an action name and an action namespace (CodePipeline API reference). */
export const PIPELINE_NAME_MAX_LENGTH = 100;

/** An action configuration value (UserParameters) is at least 1 character long (CodePipeline API reference). */
export const USER_PARAMETERS_MIN_LENGTH = 1;

/**
 * Longest path and longest path segment, in bytes, of an artifact entry: Linux's PATH_MAX (4096, the kernel refuses
 * longer paths with ENAMETOOLONG) and NAME_MAX (255, the limit of ext4, XFS and tmpfs, which back Lambda's /tmp).
 * Longer names cannot be extracted anyway: they are refused before any per-name work.
 */
export const ENTRY_PATH_MAX_BYTES = 4096;
export const ENTRY_SEGMENT_MAX_BYTES = 255;

/**
 * `readFile` reads an entry into memory: by default at most this share of the function's memory
 * (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB; the Buffer, the string made of it and the parsed value coexist), and
 * READ_FILE_DEFAULT_MAX_BYTES when the memory size is unknown (outside Lambda).
 */
export const READ_FILE_MEMORY_FRACTION = 1 / 8;
export const READ_FILE_DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
