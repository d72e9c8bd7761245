// `cdk-codepipeline-invoke/local`: Node tooling to run CodePipeline Lambda jobs without AWS (not part of the jsii API).
export { runJob, stopLocalServices } from './run-job';
export type { RunJobOptions, RunJobOutcome, RunJobFailure, AssemblyAction } from './run-job';
export { buildJobEvent, artifactObjectKey, renderUserParameters, PLACEHOLDER_CREDENTIALS } from './job-event';
export type { BuildJobEventOptions, ArtifactSpec, EventCredentials, JobEventJson, JobEventArtifact } from './job-event';
export { findInvokeActions, selectInvokeAction, handlerReferenceOf, AssemblySelectionError } from './cloud-assembly';
export type { InvokeActionInfo, FunctionCodeInfo } from './cloud-assembly';
export { loadHandler, HandlerLoadError } from './load-handler';
export { PythonHandler } from './python-handler';
export type { LambdaHandler, LambdaContextLike } from './load-handler';
export { JobApiEmulator } from './job-api-emulator';
export type { JobApiEmulatorOptions, JobApiFault, JobRecord, JobReport, JobStatus, EmulatorRequest, LocalCredentials } from './job-api/types';
export { LocalS3Server } from './s3-server';
export type { LocalS3ServerOptions, StoredObjectInfo, S3RequestRecord } from './s3-server';
export { FaultProxy } from './fault-proxy';
export type { FaultProxyOptions, S3Fault, S3FaultKind, ProxiedRequest } from './fault-proxy';
export { LocalStsServer } from './sts-server';
export type { LocalStsServerOptions, StsCaller, StsRole, IssuedCredentials, StsRequestRecord } from './sts-server';
export type { JobOwner, CredentialsPrincipal } from './job-api/types';
