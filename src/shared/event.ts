/**
 * The CodePipeline job event a Lambda invoke action sends, and its parser.
 *
 * The types are assignable to `CodePipelineEvent` of `@types/aws-lambda` (checked by test/runtime/event-types.test.ts).
 * The parser accepts every shape seen in the wild (AWS docs, Powertools, aws-lambda-go, aws-lambda-rust-runtime and
 * SAM fixtures): UserParameters absent, `revision: null`, no `encryptionKey` or `continuationToken`, an
 * `expirationTime` in the credentials, and extra fields (kept as they are).
 *
 * Pure: no I/O, no AWS SDK.
 */
import { InvalidJobEventError } from './errors';
import { isJsonObject } from './json-value';
import { JOB_ID_PATTERN } from './limits';

/** Where an artifact lives: always S3 for a Lambda invoke action. Use the key as given: it has no `.zip` suffix. */
export interface S3ArtifactLocation {
  readonly bucketName: string;
  readonly objectKey: string;
}

export interface ArtifactLocation {
  readonly type: 'S3';
  readonly s3Location: S3ArtifactLocation;
}

/** An input or output artifact of the action. */
export interface JobArtifact {
  readonly name: string;
  /** The source revision; `null` for output artifacts and for some sources. */
  readonly revision: string | null;
  readonly location: ArtifactLocation;
}

/**
 * Temporary credentials of the pipeline's action role, for the artifact bucket only (aws-cdk #3274).
 *
 * In a parsed event the secret fields are not enumerable, and `JSON.stringify`, `util.inspect` and `String()` show
 * them redacted, so logging the event or the job does not leak them.
 */
export interface ArtifactCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Always present in events from CodePipeline; optional only because hand-written test events omit it. */
  readonly sessionToken?: string;
  /** Milliseconds since the epoch when the credentials expire. */
  readonly expirationTime?: number;
}

/** The KMS key of the artifact store: output artifacts must be uploaded with SSE-KMS and this key. */
export interface EncryptionKey {
  readonly id: string;
  readonly type: 'KMS';
}

/**
 * The action's configuration. `UserParameters` is '' when the action has none: CodePipeline never sends an empty
 * value (ActionConfigurationValue has a minimum length of 1), so '' means "absent" without loss.
 */
export interface ActionConfigurationMap {
  readonly FunctionName: string;
  readonly UserParameters: string;
  readonly [key: string]: string;
}

export interface JobData {
  readonly actionConfiguration: { readonly configuration: ActionConfigurationMap };
  readonly inputArtifacts: JobArtifact[];
  readonly outputArtifacts: JobArtifact[];
  readonly artifactCredentials: ArtifactCredentials;
  readonly encryptionKey?: EncryptionKey;
  /** Present when a previous invocation of this job returned a continuation token. */
  readonly continuationToken?: string;
}

export interface JobDetails {
  readonly id: string;
  readonly accountId: string;
  readonly data: JobData;
}

/** The event a CodePipeline Lambda invoke action sends to the function. */
export interface CodePipelineJobEvent {
  readonly 'CodePipeline.job': JobDetails;
}

/**
 * Validates a raw Lambda event into a typed CodePipeline job event.
 *
 * Returns a new object (the input is not modified) whose credentials are hidden from logs and serialization.
 * Throws `InvalidJobEventError` naming the first bad field; never a `TypeError`, whatever `raw` is.
 */
export function parseJobEvent(raw: unknown): CodePipelineJobEvent {
  const root = objectAt(raw, '');
  const jobPath = 'CodePipeline.job';
  const job = objectAt(root[jobPath], jobPath);
  const details: JobDetails = {
    ...job,
    id: jobIdAt(job.id, `${jobPath}.id`),
    accountId: nonEmptyStringAt(job.accountId, `${jobPath}.accountId`),
    data: parseJobData(job.data, `${jobPath}.data`),
  };
  return { ...root, [jobPath]: details };
}

type JsonObject = { readonly [key: string]: unknown };

function parseJobData(value: unknown, path: string): JobData {
  const data = objectAt(value, path);
  const parsed: { -readonly [K in keyof JobData]: JobData[K] } = {
    ...data,
    actionConfiguration: parseActionConfiguration(data.actionConfiguration, `${path}.actionConfiguration`),
    inputArtifacts: artifactsAt(data.inputArtifacts, `${path}.inputArtifacts`),
    outputArtifacts: artifactsAt(data.outputArtifacts, `${path}.outputArtifacts`),
    artifactCredentials: parseCredentials(data.artifactCredentials, `${path}.artifactCredentials`),
  };
  if (data.encryptionKey === undefined || data.encryptionKey === null) {
    delete parsed.encryptionKey;
  } else {
    parsed.encryptionKey = parseEncryptionKey(data.encryptionKey, `${path}.encryptionKey`);
  }
  if (data.continuationToken === undefined || data.continuationToken === null) {
    delete parsed.continuationToken;
  } else {
    parsed.continuationToken = nonEmptyStringAt(data.continuationToken, `${path}.continuationToken`);
  }
  return parsed;
}

function parseActionConfiguration(value: unknown, path: string): JobData['actionConfiguration'] {
  const actionConfiguration = objectAt(value, path);
  const configPath = `${path}.configuration`;
  const configuration = objectAt(actionConfiguration.configuration, configPath);
  const userParameters = configuration.UserParameters;
  return {
    ...actionConfiguration,
    configuration: {
      ...stringEntries(configuration),
      FunctionName: nonEmptyStringAt(configuration.FunctionName, `${configPath}.FunctionName`),
      UserParameters:
        userParameters === undefined || userParameters === null ? '' : stringAt(userParameters, `${configPath}.UserParameters`),
    },
  };
}

/** Other configuration keys are kept when they are strings (as the API model says they are), dropped otherwise. */
function stringEntries(object: JsonObject): { [key: string]: string } {
  return Object.fromEntries(Object.entries(object).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function artifactsAt(value: unknown, path: string): JobArtifact[] {
  if (!Array.isArray(value)) {
    throw new InvalidJobEventError(path, `must be an array, got ${describe(value)}`);
  }
  // An index loop, not map(): map() skips the holes of a sparse array, which must fail like any missing artifact.
  const artifacts: JobArtifact[] = [];
  for (let i = 0; i < value.length; i++) {
    artifacts.push(parseArtifact(value[i], `${path}[${i}]`));
  }
  return artifacts;
}

function parseArtifact(value: unknown, path: string): JobArtifact {
  const artifact = objectAt(value, path);
  const revision = artifact.revision;
  return {
    ...artifact,
    name: nonEmptyStringAt(artifact.name, `${path}.name`),
    revision: revision === undefined || revision === null ? null : stringAt(revision, `${path}.revision`),
    location: parseLocation(artifact.location, `${path}.location`),
  };
}

function parseLocation(value: unknown, path: string): ArtifactLocation {
  const location = objectAt(value, path);
  if (location.type !== 'S3') {
    throw new InvalidJobEventError(`${path}.type`, `must be "S3", got ${describe(location.type, true)}`);
  }
  const s3Path = `${path}.s3Location`;
  const s3Location = objectAt(location.s3Location, s3Path);
  return {
    ...location,
    type: 'S3',
    s3Location: {
      ...s3Location,
      bucketName: nonEmptyStringAt(s3Location.bucketName, `${s3Path}.bucketName`),
      objectKey: nonEmptyStringAt(s3Location.objectKey, `${s3Path}.objectKey`),
    },
  };
}

function parseEncryptionKey(value: unknown, path: string): EncryptionKey {
  const key = objectAt(value, path);
  if (key.type !== 'KMS') {
    throw new InvalidJobEventError(`${path}.type`, `must be "KMS", got ${describe(key.type, true)}`);
  }
  return { ...key, id: nonEmptyStringAt(key.id, `${path}.id`), type: 'KMS' };
}

function parseCredentials(value: unknown, path: string): ArtifactCredentials {
  const raw = objectAt(value, path);
  // Only types are checked and reported here, never values: these are live credentials.
  const accessKeyId = nonEmptyStringAt(raw.accessKeyId, `${path}.accessKeyId`);
  const secretAccessKey = nonEmptyStringAt(raw.secretAccessKey, `${path}.secretAccessKey`);
  const sessionToken =
    raw.sessionToken === undefined || raw.sessionToken === null ? undefined : nonEmptyStringAt(raw.sessionToken, `${path}.sessionToken`);
  let expirationTime: number | undefined;
  if (raw.expirationTime !== undefined && raw.expirationTime !== null) {
    if (typeof raw.expirationTime !== 'number' || !Number.isFinite(raw.expirationTime)) {
      throw new InvalidJobEventError(`${path}.expirationTime`, `must be a number (milliseconds since the epoch), got ${describe(raw.expirationTime)}`);
    }
    expirationTime = raw.expirationTime;
  }
  return redactedCredentials({ accessKeyId, secretAccessKey, sessionToken, expirationTime });
}

const REDACTED = '[redacted]';

/**
 * Credentials whose secrets stay out of logs: `secretAccessKey` and `sessionToken` are not enumerable (spread,
 * `Object.entries` and `console.log` skip them), and JSON/inspect/String show a redacted copy. The access key id is
 * not a secret (AWS documents it as an identifier) and stays visible to help debugging.
 */
function redactedCredentials(values: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | undefined;
  expirationTime: number | undefined;
}): ArtifactCredentials {
  const visible = (): Record<string, unknown> => ({
    accessKeyId: values.accessKeyId,
    secretAccessKey: REDACTED,
    ...(values.sessionToken !== undefined ? { sessionToken: REDACTED } : {}),
    ...(values.expirationTime !== undefined ? { expirationTime: values.expirationTime } : {}),
  });
  const credentials: Record<string | symbol, unknown> = { accessKeyId: values.accessKeyId };
  if (values.expirationTime !== undefined) {
    credentials.expirationTime = values.expirationTime;
  }
  Object.defineProperty(credentials, 'secretAccessKey', { value: values.secretAccessKey, enumerable: false });
  if (values.sessionToken !== undefined) {
    Object.defineProperty(credentials, 'sessionToken', { value: values.sessionToken, enumerable: false });
  }
  Object.defineProperty(credentials, 'toJSON', { value: visible, enumerable: false });
  Object.defineProperty(credentials, 'toString', { value: () => '[ArtifactCredentials]', enumerable: false });
  // util.inspect (console.log, most loggers) honours this well-known symbol; no import of 'util' needed.
  Object.defineProperty(credentials, Symbol.for('nodejs.util.inspect.custom'), { value: visible, enumerable: false });
  // Not frozen: AWS SDK v3 tags credential objects it is given (`$source`), and a frozen object would make it throw.
  return credentials as unknown as ArtifactCredentials;
}

function objectAt(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) {
    throw new InvalidJobEventError(path, `must be an object, got ${describe(value)}`);
  }
  return value;
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') {
    throw new InvalidJobEventError(path, `must be a string, got ${describe(value)}`);
  }
  return value;
}

function jobIdAt(value: unknown, path: string): string {
  const id = nonEmptyStringAt(value, path);
  if (!JOB_ID_PATTERN.test(id)) {
    // The id is not echoed: it may be megabytes long or hold control characters.
    throw new InvalidJobEventError(path, `must be a job id (a UUID such as 11111111-2222-4333-8444-555555555555), got a string of ${id.length} characters that is not one`);
  }
  return id;
}

function nonEmptyStringAt(value: unknown, path: string): string {
  const text = stringAt(value, path);
  if (text.length === 0) {
    throw new InvalidJobEventError(path, 'must be a non-empty string, got an empty string');
  }
  return text;
}

/**
 * A short description of a bad value for an error message. Strings are shown only when `showString` is set (short,
 * enum-like fields): other fields may hold credentials or user data.
 */
function describe(value: unknown, showString = false): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (the field is missing)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    if (!showString) return value.length === 0 ? 'an empty string' : 'a string';
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  }
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * The job id of an event that may be malformed elsewhere, or undefined. Lets the runtime still report a failure
 * (instead of leaving the pipeline waiting for the action's timeout) when only some other field is bad.
 */
export function findJobId(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const job = (raw as JsonObject)['CodePipeline.job'];
  if (typeof job !== 'object' || job === null) return undefined;
  const id = (job as JsonObject).id;
  // Only an id the job API could accept: reports against anything else would be refused, and retried in vain.
  return typeof id === 'string' && JOB_ID_PATTERN.test(id) ? id : undefined;
}
