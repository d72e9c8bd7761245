/**
 * S3 access for artifacts, with the temporary credentials CodePipeline puts in the event (`artifactCredentials`: the
 * pipeline's action role, so the function's own role needs no S3 access; aws-cdk #3274).
 *
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, config files): the code that
 * runs on Lambda is the code that runs against local servers.
 */
import { PassThrough, Readable } from 'stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RandomAccessReader } from 'yauzl';
import { blockCachedReader, RangeSource } from './random-access';
import type { ArtifactCredentials, EncryptionKey, S3ArtifactLocation } from '../shared/event';

// Loaded on first use: handlers that never upload (or never read one file) do not pay for these at cold start.
function libStorage(): typeof import('@aws-sdk/lib-storage') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/lib-storage');
}


/** Builds the S3 client for a job's artifacts. Replace it through `jobHandler({ s3Client })` for advanced setups. */
export type S3ClientFactory = (credentials: ArtifactCredentials) => S3Client;

export const defaultS3ClientFactory: S3ClientFactory = (credentials) =>
  new S3Client({
    // A plain copy: the SDK tags the credentials object it is given, and the event's copy hides its secrets.
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}),
      ...(credentials.expirationTime !== undefined ? { expiration: new Date(credentials.expirationTime) } : {}),
    },
  });

/** The zip of an artifact as a stream, straight from S3. */
export async function getObjectStream(client: S3Client, location: S3ArtifactLocation, range?: string): Promise<Readable> {
  const response = await client.send(new GetObjectCommand({ Bucket: location.bucketName, Key: location.objectKey, Range: range }));
  const body = response.Body;
  if (!(body instanceof Readable)) {
    throw new Error(`S3 returned no readable body for s3://${location.bucketName}/${location.objectKey}`);
  }
  return body;
}

export async function objectSize(client: S3Client, location: S3ArtifactLocation): Promise<number> {
  const head = await client.send(new HeadObjectCommand({ Bucket: location.bucketName, Key: location.objectKey }));
  if (typeof head.ContentLength !== 'number') {
    throw new Error(`S3 returned no size for s3://${location.bucketName}/${location.objectKey}`);
  }
  return head.ContentLength;
}

/**
 * Streams `body` to S3 as the artifact's zip. Uses multipart upload (lib-storage) so that memory stays bounded
 * whatever the size; SSE-KMS with the pipeline's key when the event carries an `encryptionKey` (job worker docs).
 */
export async function uploadObject(
  client: S3Client,
  location: S3ArtifactLocation,
  body: Readable,
  encryptionKey: EncryptionKey | undefined,
): Promise<void> {
  const { Upload } = libStorage();
  const upload = new Upload({
    client,
    params: {
      Bucket: location.bucketName,
      Key: location.objectKey,
      Body: body,
      ContentType: 'application/zip',
      ...(encryptionKey !== undefined ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryptionKey.id } : {}),
    },
    // Two parts in flight, of S3's minimum size (5 MiB; up to 10,000 parts = 48 GiB): memory stays bounded (design
    // target: 150 MB peak for a 200 MB artifact) with enough throughput.
    queueSize: 2,
    partSize: 5 * 1024 * 1024,
  });
  await upload.done();
}

/**
 * A yauzl random-access reader over an S3 object, with HTTP Range requests: reading one file of a 200 MB artifact
 * costs a few small requests instead of the whole download. Blocks of 256 KiB cover a whole central directory in most
 * zips with one request.
 */
export async function s3RandomAccessReader(client: S3Client, location: S3ArtifactLocation): Promise<{ reader: RandomAccessReader; size: number }> {
  const size = await objectSize(client, location);
  const range = (start: number, end: number) => `bytes=${start}-${end - 1}`;
  const source: RangeSource = {
    size,
    readRange: async (start, end) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await getObjectStream(client, location, range(start, end))) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    streamRange: (start, end) => {
      const out = new PassThrough();
      getObjectStream(client, location, range(start, end)).then(
        (body) => {
          body.on('error', (error) => out.destroy(error));
          body.pipe(out);
        },
        (error: Error) => out.destroy(error),
      );
      return out;
    },
    close: async () => undefined,
  };
  return { reader: blockCachedReader(source, { blockBytes: 256 * 1024, cachedBlocks: 8 }), size };
}
