/**
 * Credentials of the job-result role: what a function in another account than its pipeline reports with. The role is
 * in the pipeline's account (the constructs create it and name it in the function's environment, see
 * src/shared/job-result-target.ts); a principal of the function's own account cannot report a job of the pipeline's
 * account, since CodePipeline has no resource-based policies.
 *
 * STS is called through the SDK's own client, so its configuration applies as everywhere else (region from
 * AWS_REGION, AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, the function role's credentials from the environment).
 */
// Types only here: the STS client is loaded on first use (loadSts), so a function that reports in its own account
// never loads it.
import type { STSClient } from '@aws-sdk/client-sts';

/** Temporary credentials, in the shape the SDK's clients take from a credentials provider. */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

/** Thrown when the role could not be assumed; `cause` is STS's error. */
export class JobResultRoleError extends Error {
  constructor(
    readonly roleArn: string,
    readonly cause: unknown,
  ) {
    super(`could not assume ${roleArn}: ${describe(cause)}`);
    this.name = 'JobResultRoleError';
  }
}

/**
 * Credentials are used until this long before they expire, then renewed: the SDK's own refresh window for temporary
 * credentials (5 minutes), which also covers a report that starts just before the expiry and is retried.
 */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;
/** RoleSessionName: 2 to 64 characters of `[\w+=,.@-]` (STS API reference, AssumeRole). */
const SESSION_NAME_MAX_LENGTH = 64;

interface CacheEntry {
  readonly key: string;
  credentials?: AwsCredentialIdentity;
  pending?: Promise<AwsCredentialIdentity>;
}

const cache = new Map<string, CacheEntry>();
let stsClient: { readonly key: string; readonly client: STSClient } | undefined;

/**
 * A credentials provider for the role, cached for the credentials' lifetime in this execution environment (one STS
 * call per role and hour, not per report). Concurrent callers share one AssumeRole call.
 */
export function jobResultRoleCredentials(roleArn: string): AwsCredentialIdentityProvider {
  return async () => {
    const key = `${stsConfigurationKey()}|${roleArn}`;
    let entry = cache.get(roleArn);
    if (entry === undefined || entry.key !== key) {
      entry = { key };
      cache.set(roleArn, entry);
    }
    const current = entry.credentials;
    if (current !== undefined && (current.expiration === undefined || current.expiration.getTime() - Date.now() > REFRESH_BEFORE_EXPIRY_MS)) {
      return current;
    }
    let pending = entry.pending;
    if (pending === undefined) {
      const slot = entry;
      pending = assumeRole(roleArn).then(
        (credentials) => {
          slot.credentials = credentials;
          slot.pending = undefined;
          return credentials;
        },
        (error: unknown) => {
          slot.pending = undefined;
          throw error;
        },
      );
      slot.pending = pending;
    }
    return pending;
  };
}

async function assumeRole(roleArn: string): Promise<AwsCredentialIdentity> {
  let answer;
  try {
    const { AssumeRoleCommand } = await loadSts();
    answer = await (await sts()).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName() }));
  } catch (error) {
    throw new JobResultRoleError(roleArn, error);
  }
  const c = answer.Credentials;
  if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) {
    throw new JobResultRoleError(roleArn, new Error('STS answered without credentials'));
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken !== undefined ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration !== undefined ? { expiration: new Date(c.Expiration) } : {}),
  };
}

/** One STS client per execution environment, renewed when its configuration changes (a local run in the same process). */
async function sts(): Promise<STSClient> {
  const { STSClient: Client } = await loadSts();
  const key = stsConfigurationKey();
  if (stsClient?.key !== key) {
    stsClient?.client.destroy();
    stsClient = { key, client: new Client({}) };
  }
  return stsClient.client;
}

/** Loaded on first use (as a top-level import it would add its load time to every cold start, in every account). */
async function loadSts(): Promise<typeof import('@aws-sdk/client-sts')> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
}

function stsConfigurationKey(): string {
  const env = process.env;
  return [env.AWS_ENDPOINT_URL_STS, env.AWS_ENDPOINT_URL, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_PROFILE].join('|');
}

/** Shown in the role's CloudTrail entries: which function reported. */
function sessionName(): string {
  const name = (process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'cdk-codepipeline-invoke').replace(/[^\w+=,.@-]/g, '-');
  return name.length >= 2 ? name.slice(0, SESSION_NAME_MAX_LENGTH) : 'cdk-codepipeline-invoke';
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    const code = typeof name === 'string' && name !== '' ? name : 'Error';
    return typeof message === 'string' && message !== '' ? `${code}: ${message}` : code;
  }
  return String(error);
}
