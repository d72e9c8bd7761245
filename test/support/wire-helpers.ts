/**
 * Helpers for the wire tests: the environment a Lambda function would see (pointed at the local servers through the
 * SDK's own AWS_ENDPOINT_URL_* variables), and a capture of the JSON log lines. Job events come from ./job-event.
 */
import { FAKE_CREDENTIALS, REGION } from './credentials';

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
