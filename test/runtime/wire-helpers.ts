/**
 * Helpers for the runtime's wire tests: an event builder, the environment a Lambda function would see (pointed at the
 * local servers through the SDK's own AWS_ENDPOINT_URL_* variables), and a capture of the JSON log lines.
 */
import { randomUUID } from 'crypto';
import { FAKE_CREDENTIALS, FAKE_SESSION_CREDENTIALS, REGION } from '../support/servers';

export interface EventOptions {
  readonly jobId?: string;
  readonly bucket?: string;
  readonly inputs?: Record<string, string>; // artifact name -> object key
  readonly outputs?: Record<string, string>;
  readonly userParameters?: string;
  readonly continuationToken?: string;
  readonly encryptionKeyId?: string;
}

/** A CodePipeline job event as the service sends it, for a fresh job id unless one is given. */
export function jobEvent(options: EventOptions = {}): any {
  const artifact = ([name, key]: [string, string]) => ({
    name,
    revision: null,
    location: { type: 'S3', s3Location: { bucketName: options.bucket ?? 'artifacts', objectKey: key } },
  });
  return {
    'CodePipeline.job': {
      id: options.jobId ?? randomUUID(),
      accountId: '123456789012',
      data: {
        actionConfiguration: {
          configuration: {
            FunctionName: 'handler-under-test',
            ...(options.userParameters !== undefined ? { UserParameters: options.userParameters } : {}),
          },
        },
        inputArtifacts: Object.entries(options.inputs ?? {}).map(artifact),
        outputArtifacts: Object.entries(options.outputs ?? {}).map(artifact),
        artifactCredentials: { ...FAKE_SESSION_CREDENTIALS, expirationTime: Date.now() + 3_600_000 },
        ...(options.continuationToken !== undefined ? { continuationToken: options.continuationToken } : {}),
        ...(options.encryptionKeyId !== undefined ? { encryptionKey: { id: options.encryptionKeyId, type: 'KMS' } } : {}),
      },
    },
  };
}

const ENV_KEYS = ['AWS_REGION', 'AWS_ENDPOINT_URL_CODEPIPELINE', 'AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];

/**
 * Sets the environment a Lambda function has, with the endpoints of the local servers; returns a function restoring
 * the previous environment. The function role's credentials differ from the artifact credentials of the event.
 */
export function lambdaEnvironment(endpoints: { codePipeline: string; s3?: string }): () => void {
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  process.env.AWS_REGION = REGION;
  process.env.AWS_ENDPOINT_URL_CODEPIPELINE = endpoints.codePipeline;
  if (endpoints.s3 !== undefined) process.env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  process.env.AWS_MAX_ATTEMPTS = '1';
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Collects the JSON lines written to stdout while `fn` runs (other output passes through). */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: any[]; text: string }> {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  (process.stdout as any).write = (chunk: any, ...rest: any[]) => {
    const text = String(chunk);
    if (text.startsWith('{')) {
      lines.push(text);
      return true;
    }
    return original(chunk, ...rest);
  };
  try {
    const result = await fn();
    return { result, logs: lines.map((l) => JSON.parse(l)), text: lines.join('') };
  } finally {
    (process.stdout as any).write = original;
  }
}
