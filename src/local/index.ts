// `cdk-codepipeline-invoke/local`: Node tooling to run CodePipeline Lambda jobs without AWS (not part of the jsii API).
export { JobApiEmulator } from './job-api-emulator';
export type { JobApiEmulatorOptions, JobRecord, JobReport, JobStatus, EmulatorRequest, LocalCredentials } from './job-api-emulator';
export { LocalS3Server } from './s3-server';
export type { LocalS3ServerOptions, StoredObjectInfo, S3RequestRecord } from './s3-server';
