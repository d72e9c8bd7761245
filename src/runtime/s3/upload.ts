/**
 * Uploading an artifact's zip: a streamed multipart upload (lib-storage), SSE-KMS with the pipeline's key when the
 * event carries one.
 */
import { Readable } from 'stream';
import { AbortMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import type { TransferOptions } from './client';
import type { EncryptionKey, S3ArtifactLocation } from '../../shared/event';
import { abortReason } from '../abort';

// Loaded on first use: handlers that never upload do not pay for it at cold start.
function libStorage(): typeof import('@aws-sdk/lib-storage') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/lib-storage');
}

/**
 * Streams `body` to S3 as the artifact's zip. Uses multipart upload (lib-storage) so that memory stays bounded
 * whatever the size; SSE-KMS with the pipeline's key when the event carries an `encryptionKey` (job worker docs).
 * The signal aborts the upload (lib-storage then aborts the multipart upload, so no object appears).
 */
export async function uploadObject(
  client: S3Client,
  location: S3ArtifactLocation,
  body: Readable,
  encryptionKey: EncryptionKey | undefined,
  options: TransferOptions,
): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);
  const { Upload } = libStorage();
  const abortController = new AbortController();
  const upload = new Upload({
    client: signal !== undefined ? withAbortSignal(client, signal) : client,
    params: {
      Bucket: location.bucketName,
      Key: location.objectKey,
      Body: body,
      ContentType: 'application/zip',
      ...(encryptionKey !== undefined ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryptionKey.id } : {}),
    },
    // Two parts in flight, of S3's minimum size (5 MiB; up to 10,000 parts = 48 GiB): memory stays bounded whatever the
    // artifact's size (bench/ measures the peak), with enough throughput.
    queueSize: 2,
    partSize: 5 * 1024 * 1024,
    abortController,
  });
  const onAbort = () => abortController.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await upload.done();
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The client as lib-storage sees it: every request it sends carries the signal (an in-flight part stops at once), except
 * AbortMultipartUpload, the clean-up lib-storage sends after an abort so that no parts are left behind.
 */
function withAbortSignal(client: S3Client, signal: AbortSignal): S3Client {
  type Send = (command: unknown, options?: object) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      const send = target.send.bind(target) as Send;
      return (command: unknown, options?: object) =>
        command instanceof AbortMultipartUploadCommand ? send(command, options) : send(command, { ...options, abortSignal: signal });
    },
  });
}
