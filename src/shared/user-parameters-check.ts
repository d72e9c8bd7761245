/**
 * The one check of UserParameters against their JSON Schema, shared by the constructs (synth time) and the runtime
 * (run time), so that both ends of the contract apply the very same rules. Whether the schema itself is usable is
 * schema-check.ts's concern: this module trusts the schema it is given.
 *
 * Built on @cfworker/json-schema: no code generation (no `new Function`), small enough for a handler bundle, drafts 4,
 * 7, 2019-09 and 2020-12. Its error list is a pre-order walk of the evaluation tree (a wrapper error such as
 * `Property "x" does not match schema.` is followed by the errors that caused it); this module rebuilds that tree, drops
 * what an unresolved value (a CDK token or a `#{Namespace.Variable}` reference) may still satisfy, and reports the most
 * specific errors with a field path a human can act on (`targets[0].url`, not `#/targets/0/url`).
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { dereference, validate } from '@cfworker/json-schema';
import type { OutputUnit, Schema, SchemaDraft } from '@cfworker/json-schema';
import { joinPath, SchemaViolation } from './field-path';
import { isJsonObject, jsonTypeOf, previewJson } from './json-value';

// Field naming is shared with the runtime's Standard Schema path (field-path.ts); re-exported for existing importers.
export { fieldPath, formatViolations } from './field-path';
export type { SchemaViolation } from './field-path';

export interface CheckOptions {
  /**
   * Says whether a string is not known yet: a CDK token or a `#{Namespace.Variable}` reference. Such strings are
   * accepted wherever the schema asks for a string; their format, pattern, length, enum or const cannot be checked.
   */
  readonly isUnresolved?: (value: string) => boolean;
}

/** The draft a schema without `$schema` is read as. */
const DEFAULT_DRAFT: SchemaDraft = '2020-12';

/** `$schema` URIs we honour (with or without a trailing '#'). */
export const DRAFTS_BY_URI: { readonly [uri: string]: SchemaDraft } = {
  'http://json-schema.org/draft-04/schema': '4',
  'http://json-schema.org/draft-07/schema': '7',
  'https://json-schema.org/draft/2019-09/schema': '2019-09',
  'https://json-schema.org/draft/2020-12/schema': '2020-12',
};

/** Keywords that constrain only the characters of a string: an unresolved string may still satisfy them. */
const STRING_VALUE_KEYWORDS = new Set(['format', 'pattern', 'minLength', 'maxLength', 'enum', 'const']);

/** Keywords whose error is followed by the errors of the subschema(s) that failed. */
const WRAPPER_KEYWORDS = new Set([
  '$ref',
  '$recursiveRef',
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'propertyNames',
  'dependentSchemas',
  'dependencies',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  'contains',
  'allOf',
  'anyOf',
  'oneOf',
  'if',
]);

/** Wrappers satisfied when ONE group of their children is (the others need all children satisfied). */
const ALTERNATIVE_KEYWORDS = new Set(['anyOf', 'oneOf', 'contains']);

interface CompiledSchema {
  readonly root: Schema | boolean;
  readonly lookup: Record<string, Schema | boolean>;
  readonly draft: SchemaDraft;
}

interface ErrorNode {
  readonly error: OutputUnit;
  readonly children: ErrorNode[];
}

interface Context {
  readonly compiled: CompiledSchema;
  readonly instance: unknown;
  readonly isUnresolved: (value: string) => boolean;
}

// Schemas are module-level literals in handlers: compile each once per process.
const compiledSchemas = new WeakMap<object, CompiledSchema>();

/**
 * Checks a value (the parsed UserParameters) against a JSON Schema. Returns no violation when the value conforms.
 * Throws only when the schema itself is unusable (see `checkSchemaIsValid` in schema-check.ts).
 */
export function checkUserParameters(schema: object, value: unknown, options: CheckOptions = {}): SchemaViolation[] {
  if (value === undefined) {
    return [{ path: '', message: 'is missing (no UserParameters given)' }];
  }
  let instance: unknown;
  try {
    instance = JSON.parse(JSON.stringify(value));
  } catch (e) {
    return [{ path: '', message: `is not JSON data (${(e as Error).message})` }];
  }
  const compiled = compileSchema(schema);
  const result = validate(instance, compiled.root, compiled.draft, compiled.lookup, false);
  if (result.valid) {
    return [];
  }
  const context: Context = { compiled, instance, isUnresolved: options.isUnresolved ?? (() => false) };
  const tree = buildErrorTree(withoutOrphanedContainsErrors(result.errors));
  return dedupe(tree.flatMap((node) => evaluateNode(node, context)));
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling

function compileSchema(schema: object): CompiledSchema {
  const cached = compiledSchemas.get(schema);
  if (cached) {
    return cached;
  }
  // dereference() annotates the schema objects it walks: work on a copy, never on the caller's literal.
  const root = JSON.parse(JSON.stringify(schema)) as Schema | boolean;
  const declared = typeof root === 'object' ? root.$schema : undefined;
  const draft = (typeof declared === 'string' ? draftOf(declared) : undefined) ?? DEFAULT_DRAFT;
  const compiled: CompiledSchema = { root, lookup: dereference(root), draft };
  compiledSchemas.set(schema, compiled);
  return compiled;
}

/** The draft a `$schema` URI names, or undefined when it names none we honour. */
export function draftOf(uri: string): SchemaDraft | undefined {
  return DRAFTS_BY_URI[uri.replace(/#$/, '')];
}

// ---------------------------------------------------------------------------------------------------------------
// Rebuilding the evaluation tree from cfworker's pre-order error list

function buildErrorTree(errors: readonly OutputUnit[]): ErrorNode[] {
  const roots: ErrorNode[] = [];
  const stack: ErrorNode[] = [];
  let previous: ErrorNode | undefined;
  for (const error of errors) {
    const node: ErrorNode = { error, children: [] };
    if (error.keyword === 'false' && previous && isWrapper(previous.error)) {
      // A `false` subschema reports its instance location as keyword location: its parent is the error just before.
      while (stack.length > 0 && stack[stack.length - 1] !== previous) {
        stack.pop();
      }
    } else {
      while (stack.length > 0 && !isChildOf(error, stack[stack.length - 1].error)) {
        stack.pop();
      }
    }
    (stack.length > 0 ? stack[stack.length - 1].children : roots).push(node);
    if (isWrapper(error)) {
      stack.push(node);
    }
    previous = node;
  }
  return roots;
}

function isWrapper(error: OutputUnit): boolean {
  return WRAPPER_KEYWORDS.has(error.keyword);
}

function isChildOf(error: OutputUnit, wrapper: OutputUnit): boolean {
  if (error.keyword === 'false') {
    return error.instanceLocation.startsWith(wrapper.instanceLocation);
  }
  if (wrapper.keyword === 'if') {
    const base = wrapper.keywordLocation.slice(0, -'/if'.length);
    return error.keywordLocation.startsWith(`${base}/then/`) || error.keywordLocation.startsWith(`${base}/else/`);
  }
  return error.keywordLocation.startsWith(`${wrapper.keywordLocation}/`);
}

/**
 * With `minContains`, cfworker keeps the errors of the items that did not match `contains` without a wrapper before
 * them; the `minContains` error says all that matters.
 */
function withoutOrphanedContainsErrors(errors: readonly OutputUnit[]): OutputUnit[] {
  const containsPrefixes = errors
    .filter((e) => e.keyword === 'minContains')
    .map((e) => `${e.keywordLocation.slice(0, -'minContains'.length)}contains/`);
  if (containsPrefixes.length === 0) {
    return [...errors];
  }
  return errors.filter((e) => !containsPrefixes.some((prefix) => e.keywordLocation.startsWith(prefix)));
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluating the tree: tolerate unresolved strings, report the most specific errors

function evaluateNode(node: ErrorNode, context: Context): SchemaViolation[] {
  const { error, children } = node;
  if (children.length === 0) {
    return isTolerated(error, context) ? [] : [violationOf(error, context)];
  }
  if (ALTERNATIVE_KEYWORDS.has(error.keyword)) {
    return evaluateAlternatives(node, context);
  }
  return children.flatMap((child) => evaluateNode(child, context));
}

function evaluateAlternatives(node: ErrorNode, context: Context): SchemaViolation[] {
  const { error } = node;
  const groups = groupAlternatives(node);
  const results = groups.map((group) => group.flatMap((child) => evaluateNode(child, context)));
  const path = pathOf(error.instanceLocation, context.instance);
  if (error.keyword === 'oneOf') {
    const matches = Number(/\((\d+) matches\)/.exec(error.error)?.[1] ?? '0');
    if (matches > 1) {
      return [{ path, message: `must match exactly one alternative of "oneOf" (matches ${matches})` }];
    }
  }
  if (results.some((violations) => violations.length === 0)) {
    return [];
  }
  if (error.keyword === 'contains') {
    return [{ path, message: 'must contain at least one item that matches "contains"' }];
  }
  const reasons = results.map((violations, i) => `(${i + 1}) ${describeRelative(violations, path)}`);
  return [{ path, message: `must match one alternative of "${error.keyword}": ${reasons.join(' or ')}` }];
}

/** anyOf/oneOf children grouped by branch index; contains children grouped by array item. */
function groupAlternatives(node: ErrorNode): ErrorNode[][] {
  const groups = new Map<string, ErrorNode[]>();
  node.children.forEach((child, index) => {
    const key = alternativeKey(node.error, child.error) ?? `unknown-${index}`;
    groups.set(key, [...(groups.get(key) ?? []), child]);
  });
  return [...groups.values()];
}

function alternativeKey(wrapper: OutputUnit, child: OutputUnit): string | undefined {
  const location = wrapper.keyword === 'contains' ? wrapper.instanceLocation : wrapper.keywordLocation;
  const childLocation = wrapper.keyword === 'contains' ? child.instanceLocation : child.keywordLocation;
  if (child.keyword === 'false' && wrapper.keyword !== 'contains') {
    return undefined;
  }
  return childLocation.slice(location.length + 1).split('/')[0];
}

function describeRelative(violations: readonly SchemaViolation[], basePath: string): string {
  return violations
    .map((v) => {
      const relative = v.path === basePath ? '' : v.path.slice(basePath.length).replace(/^\./, '');
      return relative === '' ? v.message : `${relative}: ${v.message}`;
    })
    .join(', ');
}

function isTolerated(error: OutputUnit, context: Context): boolean {
  if (!STRING_VALUE_KEYWORDS.has(error.keyword)) {
    return false;
  }
  const value = valueAt(context.instance, pointerSegments(error.instanceLocation));
  return typeof value === 'string' && context.isUnresolved(value);
}

function violationOf(error: OutputUnit, context: Context): SchemaViolation {
  const path = pathOf(error.instanceLocation, context.instance);
  if (error.keyword === 'required') {
    const key = /required property "(.*)"\.$/.exec(error.error)?.[1];
    if (key !== undefined) {
      return { path: joinPath(path, key, false), message: 'is required' };
    }
  }
  if (error.keyword === 'false') {
    return { path, message: 'is not allowed here' };
  }
  const value = valueAt(context.instance, pointerSegments(error.instanceLocation));
  const keywordValue = schemaKeywordValue(context.compiled, error);
  return { path, message: messageFor(error, value, keywordValue) };
}

function messageFor(error: OutputUnit, value: unknown, keywordValue: unknown): string {
  const got = `(got ${previewJson(value)})`;
  switch (error.keyword) {
    case 'type':
      return `must be ${describeExpectedTypes(keywordValue)} (got ${isJsonObject(value) || Array.isArray(value) ? jsonTypeOf(value) : previewJson(value)})`;
    case 'enum':
      return Array.isArray(keywordValue)
        ? `must be one of ${keywordValue.map((v) => JSON.stringify(v)).join(', ')} ${got}`
        : `must be one of the allowed values ${got}`;
    case 'const':
      return `must be ${JSON.stringify(keywordValue)} ${got}`;
    case 'minimum':
      return `must be >= ${String(keywordValue)} ${got}`;
    case 'maximum':
      return `must be <= ${String(keywordValue)} ${got}`;
    case 'exclusiveMinimum':
      return `must be > ${String(keywordValue)} ${got}`;
    case 'exclusiveMaximum':
      return `must be < ${String(keywordValue)} ${got}`;
    case 'multipleOf':
      return `must be a multiple of ${String(keywordValue)} ${got}`;
    case 'minLength':
      return `must be at least ${String(keywordValue)} characters long ${got}`;
    case 'maxLength':
      return `must be at most ${String(keywordValue)} characters long ${got}`;
    case 'pattern':
      return `must match the pattern ${String(keywordValue)} ${got}`;
    case 'format':
      return `must be a valid "${String(keywordValue)}" ${got}`;
    case 'minItems':
      return `must have at least ${String(keywordValue)} items`;
    case 'maxItems':
      return `must have at most ${String(keywordValue)} items`;
    case 'minProperties':
      return `must have at least ${String(keywordValue)} properties`;
    case 'maxProperties':
      return `must have at most ${String(keywordValue)} properties`;
    case 'not':
      return 'must not match the schema in "not"';
    default:
      return lowerFirst(error.error.replace(/\.$/, ''));
  }
}

function describeExpectedTypes(types: unknown): string {
  const list = Array.isArray(types) ? types : [types];
  return list.map((t) => (t === 'array' || t === 'object' || t === 'integer' ? `an ${t}` : `a ${String(t)}`)).join(' or ');
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function dedupe(violations: readonly SchemaViolation[]): SchemaViolation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = `${v.path}\u0000${v.message}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Pointers and paths

/** '#/targets/0/url' -> ['targets', '0', 'url'] (cfworker encodes segments with encodeURI and '#' as %23). */
function pointerSegments(location: string): string[] {
  const body = location.replace(/^#\/?/, '');
  if (body === '') {
    return [];
  }
  return body.split('/').map(decodeSegment);
}

function decodeSegment(segment: string): string {
  let decoded = segment.replace(/%23/g, '#');
  try {
    decoded = decodeURI(decoded);
  } catch {
    // not percent-encoded after all: keep it as it is
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Renders a JSON pointer into the instance as 'targets[0].url', '["odd key"]'. */
function pathOf(location: string, instance: unknown): string {
  let path = '';
  let current: unknown = instance;
  for (const segment of pointerSegments(location)) {
    path = joinPath(path, segment, Array.isArray(current));
    current = isJsonObject(current) || Array.isArray(current) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return path;
}

function valueAt(instance: unknown, segments: readonly string[]): unknown {
  let current = instance;
  for (const segment of segments) {
    if (!isJsonObject(current) && !Array.isArray(current)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The value of the failed keyword in the schema, following `$ref`s as the validator did. */
function schemaKeywordValue(compiled: CompiledSchema, error: OutputUnit): unknown {
  let node: unknown = compiled.root;
  for (const segment of pointerSegments(error.keywordLocation)) {
    if (!isJsonObject(node) && !Array.isArray(node)) {
      return undefined;
    }
    const absoluteRef = (node as Schema).__absolute_ref__;
    node = segment === '$ref' && absoluteRef !== undefined ? compiled.lookup[absoluteRef] : (node as Record<string, unknown>)[segment];
  }
  return node;
}
