/** The S3 client the baselines use: the SDK defaults, pointed at the local endpoint the parent started. */
import { S3Client } from '@aws-sdk/client-s3';

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIABENCHBENCHBENCH0', secretAccessKey: 'bench-secret-key-not-real' },
  });
}
