/**
 * How violations name fields, at synth and at run time, whichever checker found them (the JSON Schema checker or a
 * Standard Schema validator such as zod): `targets[0].url`, `["odd key"]`, '' for the root.
 *
 * Pure and small: the runtime's errors import it without loading any schema library.
 */

/** One reason why a value does not satisfy its schema. */
export interface SchemaViolation {
  /** The field a human should fix: '' for the root, 'retries', 'targets[0].url'. */
  readonly path: string;
  /** What is wrong, e.g. 'must be >= 0 (got -1)'. */
  readonly message: string;
}

/**
 * Renders a path into a value the way violations name fields: ['targets', 0, 'url'] -> 'targets[0].url',
 * ['odd key'] -> '["odd key"]'. Numbers are array indexes.
 */
export function fieldPath(segments: ReadonlyArray<string | number>): string {
  return segments.reduce<string>((path, segment) => joinPath(path, String(segment), typeof segment === 'number'), '');
}

/** "retries: must be >= 0 (got -1); env: must be one of "dev", "prod"". The root is named "(root)". */
export function formatViolations(violations: readonly SchemaViolation[]): string {
  return violations.map((v) => `${v.path === '' ? '(root)' : v.path}: ${v.message}`).join('; ');
}

/** Appends one segment to a field path: an index as `[0]`, a plain name as `.name`, any other key as `["odd key"]`. */
export function joinPath(path: string, segment: string, isIndex: boolean): string {
  if (isIndex) {
    return `${path}[${segment}]`;
  }
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) {
    return path === '' ? segment : `${path}.${segment}`;
  }
  return `${path}[${JSON.stringify(segment)}]`;
}
