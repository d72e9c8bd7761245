/** The environment a run gives its function, set in process.env for the run and restored afterwards. */
import { CROSS_ENVIRONMENT_VARIABLES } from '../cross-environment';

/** The environment a run sets; each is restored (or removed) afterwards. */
const MANAGED_ENV = [
  'AWS_ENDPOINT_URL_CODEPIPELINE',
  'AWS_ENDPOINT_URL_S3',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  ...CROSS_ENVIRONMENT_VARIABLES,
] as const;

/** Sets (or, for `undefined`, removes) environment variables; returns a function that puts everything back. */
export function setEnvironment(values: Record<string, string | undefined>): () => void {
  const keys = new Set<string>([...MANAGED_ENV, ...Object.keys(values)]);
  const saved = new Map<string, string | undefined>([...keys].map((k) => [k, process.env[k]]));
  for (const key of keys) {
    const value = values[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
