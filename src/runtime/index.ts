/**
 * `cdk-codepipeline-invoke/runtime`: the Lambda side of a CodePipeline Lambda invoke action.
 *
 *   export const handler = jobHandler<Params>({ schema }, async (job) => { ... });
 *
 * Never imports aws-cdk-lib or constructs; heavy parts (zip libraries, the JSON Schema checker, multipart upload) load
 * on first use.
 */
export { jobHandler } from './job-handler';
export type { JobHandlerOptions, JobOutcome, PipelineJobHandler } from './job-handler';
export type { StandardSchemaV1 } from './standard-schema';
export type { NotGiven, ParametersOf } from './job-handler';
export { codePipelineJob } from './middy';
export type { CodePipelineJobMiddleware, JobContext, MiddyRequestLike } from './middy';
export type { PipelineJob, LambdaContextLike } from './pipeline-job';
export type { JobResult, Progress, ContinueLater } from './results';
export { InputArtifact, OutputArtifact } from './artifacts';
export type { ExtractOptions } from './artifacts';
export type { ArtifactEntry, ExtractSummary } from './zip/open';
export type { FileContent, FileSpec, FileWithMode } from './zip/write';
export { DEFAULT_EXTRACTION_LIMITS } from './zip/safety';
export type { ExtractionLimits } from './zip/safety';
export { ArtifactSafetyError, ArtifactTransferError, JobReportError } from './errors';
export type { ArtifactSafetyReason } from './errors';
export { CONTINUATION_STATE_MAX_LENGTH } from './continuation';
export { createJsonLogger, withAttributes } from './logger';
export type { Logger, LogAttributes, LogLevel, JsonLoggerOptions } from './logger';
export type { S3ClientFactory } from './s3/client';
export { parseJobEvent } from '../shared/event';
export type {
  ActionConfigurationMap,
  ArtifactCredentials,
  ArtifactLocation,
  CodePipelineJobEvent,
  EncryptionKey,
  JobArtifact,
  JobData,
  JobDetails,
  S3ArtifactLocation,
} from '../shared/event';
export { InvalidJobEventError, JobFailedError, UserParametersError } from '../shared/errors';
export type { SchemaViolation } from '../shared/field-path';
export type { FailureType } from '../shared/limits';
