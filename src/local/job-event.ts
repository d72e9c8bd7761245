/**
 * Builds CodePipeline job events as a Lambda invoke action sends them: for `runJob`, for `generate-event` and for
 * tests. The shape follows the events CodePipeline really sends (AWS docs, Powertools fixtures): UserParameters only
 * when the action has some, `revision: null` for artifacts without one, `encryptionKey` and `continuationToken` only
 * when set.
 */
import * as crypto from 'crypto';
import { USER_PARAMETERS_MAX_LENGTH } from '../shared/limits';
import { VARIABLE_REFERENCE_PARTS } from '../shared/variable-references';

/** An artifact of the event: a name, and where it is (defaults come from the event options). */
export interface ArtifactSpec {
  readonly name: string;
  /** @default - the event's bucketName */
  readonly bucketName?: string;
  /** @default - a key like CodePipeline's: `<pipeline name, 20 chars>/<artifact name, 10 chars>/<7 random chars>` */
  readonly objectKey?: string;
  /** @default null */
  readonly revision?: string | null;
}

export interface EventCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Milliseconds since the epoch. */
  readonly expirationTime?: number;
}

export interface BuildJobEventOptions {
  /** @default - a random UUID */
  readonly jobId?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default 'my-pipeline-function' */
  readonly functionName?: string;
  /** A string is sent as is; anything else as JSON. @default - no UserParameters in the configuration */
  readonly userParameters?: unknown;
  readonly inputArtifacts?: ReadonlyArray<string | ArtifactSpec>;
  readonly outputArtifacts?: ReadonlyArray<string | ArtifactSpec>;
  /** @default 'codepipeline-us-east-1-123456789012' (the default artifact store's naming) */
  readonly bucketName?: string;
  /** Used for the object keys CodePipeline makes up. @default 'my-pipeline' */
  readonly pipelineName?: string;
  /** @default - placeholder credentials (they work against nothing) */
  readonly credentials?: EventCredentials;
  /** A KMS key ARN/id/alias: output artifacts must then be written with SSE-KMS and this key. */
  readonly encryptionKey?: string;
  readonly continuationToken?: string;
  /** Values of `#{Namespace.Variable}` references in UserParameters, keyed `Namespace.Variable`. @default - none */
  readonly variables?: Readonly<Record<string, string>>;
}

/** The event as plain JSON (what Lambda hands the function). */
export interface JobEventJson {
  readonly 'CodePipeline.job': {
    readonly id: string;
    readonly accountId: string;
    readonly data: {
      readonly actionConfiguration: { readonly configuration: { readonly FunctionName: string; readonly UserParameters?: string } };
      readonly inputArtifacts: JobEventArtifact[];
      readonly outputArtifacts: JobEventArtifact[];
      readonly artifactCredentials: EventCredentials;
      readonly encryptionKey?: { readonly id: string; readonly type: 'KMS' };
      readonly continuationToken?: string;
    };
  };
}

export interface JobEventArtifact {
  readonly name: string;
  readonly revision: string | null;
  readonly location: { readonly type: 'S3'; readonly s3Location: { readonly bucketName: string; readonly objectKey: string } };
}

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_FUNCTION_NAME = 'my-pipeline-function';
export const DEFAULT_PIPELINE_NAME = 'my-pipeline';
export const DEFAULT_REGION = 'us-east-1';

/** The placeholder credentials of generated events (the values AWS documentation uses). */
export const PLACEHOLDER_CREDENTIALS: EventCredentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-placeholder',
};

export function defaultArtifactBucket(accountId: string = DEFAULT_ACCOUNT_ID, region: string = DEFAULT_REGION): string {
  return `codepipeline-${region}-${accountId}`;
}

/** An object key like the ones CodePipeline makes up: opaque, no `.zip` suffix. */
export function artifactObjectKey(pipelineName: string, artifactName: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = Array.from(crypto.randomBytes(7), (b) => alphabet[b % alphabet.length]).join('');
  return `${pipelineName.slice(0, 20)}/${artifactName.slice(0, 10)}/${suffix}`;
}

/**
 * Replaces `#{Namespace.Variable}` references the way CodePipeline does before the action runs: textually, with no
 * JSON escaping (a value containing `"` breaks JSON UserParameters: aws-cdk #31213). Unknown references stay as they
 * are and are returned in `unresolved`.
 */
export function substituteVariables(text: string, variables: Readonly<Record<string, string>>): { text: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const out = text.replace(VARIABLE_REFERENCE_PARTS, (reference: string, namespace: string, name: string) => {
    const value = variables[`${namespace}.${name}`];
    if (value === undefined) {
      if (!unresolved.includes(reference)) unresolved.push(reference);
      return reference;
    }
    return value;
  });
  return { text: out, unresolved };
}

/** UserParameters as text before variable substitution: a string as is, anything else as JSON. */
export function userParametersText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * UserParameters as the action configuration carries them: a string of 1 to 1000 characters (checked after variable
 * substitution, as CodePipeline checks it), or none.
 */
export function renderUserParameters(value: unknown, variables: Readonly<Record<string, string>> = {}): string | undefined {
  const raw = userParametersText(value);
  if (raw === undefined) return undefined;
  const text = substituteVariables(raw, variables).text;
  if (text === '') return undefined;
  if (text.length > USER_PARAMETERS_MAX_LENGTH) {
    throw new Error(
      `UserParameters are ${text.length} characters long; CodePipeline allows at most ${USER_PARAMETERS_MAX_LENGTH} (after variable substitution). Shorten them or pass bigger data as an artifact.`,
    );
  }
  return text;
}

/** Builds a job event; every field has a realistic default. */
export function buildJobEvent(options: BuildJobEventOptions = {}): JobEventJson {
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const bucketName = options.bucketName ?? defaultArtifactBucket(accountId);
  const pipelineName = options.pipelineName ?? DEFAULT_PIPELINE_NAME;
  const artifact = (spec: string | ArtifactSpec): JobEventArtifact => {
    const s = typeof spec === 'string' ? { name: spec } : spec;
    return {
      name: s.name,
      revision: s.revision ?? null,
      location: {
        type: 'S3',
        s3Location: { bucketName: s.bucketName ?? bucketName, objectKey: s.objectKey ?? artifactObjectKey(pipelineName, s.name) },
      },
    };
  };
  const userParameters = renderUserParameters(options.userParameters, options.variables);
  return {
    'CodePipeline.job': {
      id: options.jobId ?? crypto.randomUUID(),
      accountId,
      data: {
        actionConfiguration: {
          configuration: {
            FunctionName: options.functionName ?? DEFAULT_FUNCTION_NAME,
            ...(userParameters !== undefined ? { UserParameters: userParameters } : {}),
          },
        },
        inputArtifacts: (options.inputArtifacts ?? []).map(artifact),
        outputArtifacts: (options.outputArtifacts ?? []).map(artifact),
        artifactCredentials: { ...(options.credentials ?? PLACEHOLDER_CREDENTIALS) },
        ...(options.encryptionKey !== undefined ? { encryptionKey: { id: options.encryptionKey, type: 'KMS' as const } } : {}),
        ...(options.continuationToken !== undefined ? { continuationToken: options.continuationToken } : {}),
      },
    },
  };
}
