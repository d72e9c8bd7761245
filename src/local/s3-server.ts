// The embedded S3 server lives in ./s3/ (one concern per file); this module keeps its public import path.
export { LocalS3Server } from './s3/server';
export type { LocalCredentials, LocalS3ServerOptions, StoredObjectInfo, S3RequestRecord } from './s3/server';
