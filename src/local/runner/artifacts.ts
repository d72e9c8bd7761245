/** A run's artifacts: inputs zipped and stored in the local S3, outputs extracted from it after a success. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArtifactSafetyError } from '../../runtime/index';
import { extractArtifactZip, zipFolderToFile } from '../internal/zip';
import { artifactObjectKey } from '../job-event';
import type { LocalS3Server } from '../s3/server';

export async function uploadInputs(
  s3: LocalS3Server,
  bucket: string,
  pipelineName: string,
  inputs: Readonly<Record<string, string>>,
  sse: { serverSideEncryption: string; sseKmsKeyId: string } | undefined,
): Promise<Array<{ name: string; bucketName: string; objectKey: string }>> {
  const artifacts = [];
  for (const [name, source] of Object.entries(inputs)) {
    const stat = await fs.promises.stat(source).catch(() => undefined);
    if (!stat) throw new Error(`input artifact ${name}: ${source} does not exist (give a folder to zip or a .zip file)`);
    const objectKey = artifactObjectKey(pipelineName, name);
    if (stat.isDirectory()) {
      const zipFile = path.join(s3.directory, `input-${crypto.randomUUID()}.zip`);
      await zipFolderToFile(source, zipFile);
      await s3.putFile(bucket, objectKey, zipFile, { sse });
      await fs.promises.rm(zipFile, { force: true });
    } else if (stat.isFile()) {
      await s3.putFile(bucket, objectKey, source, { sse });
    } else {
      throw new Error(`input artifact ${name}: ${source} is neither a folder nor a file`);
    }
    artifacts.push({ name, bucketName: bucket, objectKey });
  }
  return artifacts;
}

export async function extractOutputs(
  s3: LocalS3Server,
  artifacts: Array<{ name: string; bucketName: string; objectKey: string }>,
  outputDirectory: string | undefined,
  encryptionKey: string | undefined,
): Promise<{ outputs: Record<string, string>; warnings: string[] }> {
  const outputs: Record<string, string> = {};
  const warnings: string[] = [];
  if (artifacts.length === 0) return { outputs, warnings };
  const root = outputDirectory ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cdk-codepipeline-invoke-outputs-')));
  for (const artifact of artifacts) {
    const stored = s3.object(artifact.bucketName, artifact.objectKey);
    if (!stored) {
      warnings.push(`output artifact ${artifact.name} was not uploaded: the next action that reads it would fail`);
      continue;
    }
    if (encryptionKey !== undefined && (stored.serverSideEncryption !== 'aws:kms' || stored.sseKmsKeyId !== encryptionKey)) {
      warnings.push(
        `output artifact ${artifact.name} was stored with ${stored.serverSideEncryption}${stored.sseKmsKeyId ? ` (key ${stored.sseKmsKeyId})` : ''}, ` +
          `not SSE-KMS with the event's encryptionKey ${encryptionKey}: artifact buckets that require KMS refuse such uploads`,
      );
    }
    const folder = path.join(root, artifact.name);
    const existed = fs.existsSync(folder);
    try {
      await extractArtifactZip(stored.file, folder, artifact.name);
      outputs[artifact.name] = folder;
    } catch (err) {
      // What was written before the refusal is not left to look like the artifact (a folder we made is removed).
      if (!existed) await fs.promises.rm(folder, { recursive: true, force: true });
      warnings.push(
        err instanceof ArtifactSafetyError
          ? `output artifact ${artifact.name} was refused (${err.message}): the next action that extracts it with jobHandler would fail the same way`
          : `output artifact ${artifact.name} is not a readable zip (${(err as Error).message}): CodePipeline actions expect zip artifacts`,
      );
    }
  }
  return { outputs, warnings };
}
