/**
 * Detects values that look like secrets. UserParameters are shown in clear text in the CodePipeline console, in
 * `GetPipeline` and in every job event, so a secret there is a leak: pass a secret's ARN or name instead and read it in
 * the handler. The constructs warn at synth time; the runtime can use the same patterns to keep secrets out of logs.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { fieldPath } from './field-path';
import { ANY_VARIABLE_REFERENCE } from './variable-references';

/** A value that looks like a secret, and why. */
export interface SecretFinding {
  /** The field, in the notation of schema violations: '' for the root, 'db.password', 'keys[0]'. */
  readonly path: string;
  /** Why it looks like a secret, e.g. 'looks like an AWS secret access key'. */
  readonly reason: string;
}

export interface FindSecretsOptions {
  /** Says whether a string is not known yet (a CDK token, a `#{Namespace.Variable}` reference): it is not judged. */
  readonly isUnresolved?: (value: string) => boolean;
}

/** Value patterns, most specific first. Each is a well-known credential format. */
export const SECRET_VALUE_PATTERNS: ReadonlyArray<{ readonly reason: string; readonly pattern: RegExp }> = [
  // CloudFormation resolves these dynamic references into the template's value: the secret itself lands in UserParameters.
  { reason: 'resolves a Secrets Manager or SSM SecureString secret into clear text', pattern: /\{\{resolve:(?:secretsmanager|ssm-secure):/ },
  { reason: 'contains a private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { reason: 'looks like an AWS access key id', pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/ },
  // 40 characters of base64 with upper case, lower case and digits: the shape of an AWS secret access key (git-secrets).
  { reason: 'looks like an AWS secret access key', pattern: /(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/ },
  { reason: 'looks like a GitHub token', pattern: /(?<![A-Za-z0-9_])(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/ },
  { reason: 'looks like a Slack token', pattern: /(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}/ },
];

/** Field names whose value is a secret: matched on the lower-cased name without '-', '_' and '.', as a suffix. */
const SECRET_FIELD_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'secretkey',
  'privatekey',
  'apikey',
  'token',
  'credentials',
];

/** A reference that is not the secret itself: an ARN, or a pipeline variable as the whole value. */
const REFERENCE_PATTERN = new RegExp(`^(?:arn:|${ANY_VARIABLE_REFERENCE.source}$)`);

/** Says why a string looks like a secret, or undefined when it does not. */
export function describeSecret(text: string): string | undefined {
  return SECRET_VALUE_PATTERNS.find(({ pattern }) => pattern.test(text))?.reason;
}

/** Says whether a field of this name holds a secret ('dbPassword', 'api_key', 'GITHUB_TOKEN'). */
export function isSecretFieldName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[-_.]/g, '');
  return SECRET_FIELD_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/** Finds every string in a JSON-like value (or a plain string) that looks like a secret. */
export function findSecrets(value: unknown, options: FindSecretsOptions = {}): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const isUnresolved = options.isUnresolved ?? (() => false);
  const visit = (node: unknown, segments: Array<string | number>, fieldName: string | undefined): void => {
    if (typeof node === 'string') {
      const reason = describeSecret(node) ?? secretFieldReason(node, fieldName, isUnresolved);
      if (reason !== undefined) {
        findings.push({ path: fieldPath(segments), reason });
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...segments, i], fieldName));
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, item] of Object.entries(node)) {
        visit(item, [...segments, key], key);
      }
    }
  };
  visit(value, [], undefined);
  return findings;
}

function secretFieldReason(
  text: string,
  fieldName: string | undefined,
  isUnresolved: (value: string) => boolean,
): string | undefined {
  if (fieldName === undefined || !isSecretFieldName(fieldName) || text === '' || REFERENCE_PATTERN.test(text) || isUnresolved(text)) {
    return undefined;
  }
  return `is a "${fieldName}" field with a literal value`;
}
