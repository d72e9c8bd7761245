/**
 * Says whether a JSON Schema is usable before anything is checked against it: an object (or a boolean), a `$schema`
 * we honour, well-formed keywords, regular expressions that compile, `$ref`s that resolve. The constructs ask it in
 * `UserParametersSchema.fromJsonSchema` (synth time), the runtime before it checks the first UserParameters.
 *
 * Violations name the place in the schema the way value paths are named: 'properties.retries.minimum', 'anyOf[0].type'.
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { dereference } from '@cfworker/json-schema';
import type { Schema } from '@cfworker/json-schema';
import { joinPath, SchemaViolation } from './field-path';
import { isJsonObject, jsonTypeOf, previewJson } from './json-value';
import { draftOf, DRAFTS_BY_URI } from './user-parameters-check';

/** Says what makes a schema unusable: not an object, an unknown `$schema`, a malformed keyword, an unresolvable `$ref`. */
export function checkSchemaIsValid(schema: unknown): SchemaViolation[] {
  if (typeof schema === 'boolean') {
    return [];
  }
  if (!isJsonObject(schema)) {
    return [{ path: '', message: `must be a JSON Schema object (got ${jsonTypeOf(schema)})` }];
  }
  const violations: SchemaViolation[] = [];
  const declared = schema.$schema;
  if (declared !== undefined && (typeof declared !== 'string' || draftOf(declared) === undefined)) {
    violations.push({
      path: '$schema',
      message: `must be one of ${Object.keys(DRAFTS_BY_URI).join(', ')} (got ${JSON.stringify(declared)})`,
    });
  }
  checkSchemaNode(schema, [], violations);
  if (violations.length > 0) {
    return violations;
  }
  return checkReferencesResolve(schema);
}

const INSTANCE_TYPES = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']);
const SCHEMA_KEYWORDS = ['additionalItems', 'unevaluatedItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'propertyNames', 'not', 'if', 'then', 'else'];
const SCHEMA_ARRAY_KEYWORDS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'];
const SCHEMA_MAP_KEYWORDS = ['$defs', 'definitions', 'properties', 'patternProperties', 'dependentSchemas'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'multipleOf'];
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains'];

function checkSchemaNode(node: unknown, location: string[], violations: SchemaViolation[]): void {
  if (typeof node === 'boolean') {
    return;
  }
  const here = schemaPath(location);
  if (!isJsonObject(node)) {
    violations.push({ path: here, message: `must be a schema (an object or a boolean), got ${jsonTypeOf(node)}` });
    return;
  }
  const report = (keyword: string, message: string) =>
    violations.push({ path: schemaPath([...location, keyword]), message });

  checkTypeKeyword(node.type, report);
  for (const keyword of SCHEMA_KEYWORDS) {
    if (node[keyword] !== undefined) {
      checkSchemaNode(node[keyword], [...location, keyword], violations);
    }
  }
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) {
      node.items.forEach((item, i) => checkSchemaNode(item, [...location, 'items', String(i)], violations));
    } else {
      checkSchemaNode(node.items, [...location, 'items'], violations);
    }
  }
  for (const keyword of SCHEMA_ARRAY_KEYWORDS) {
    const value = node[keyword];
    if (value === undefined) {
      continue;
    }
    if (!Array.isArray(value) || value.length === 0) {
      report(keyword, 'must be a non-empty array of schemas');
    } else {
      value.forEach((item, i) => checkSchemaNode(item, [...location, keyword, String(i)], violations));
    }
  }
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const value = node[keyword];
    if (value === undefined) {
      continue;
    }
    if (!isJsonObject(value)) {
      report(keyword, 'must be an object whose values are schemas');
      continue;
    }
    for (const [key, sub] of Object.entries(value)) {
      if (keyword === 'patternProperties') {
        checkRegExp(key, (message) => violations.push({ path: schemaPath([...location, keyword, key]), message }));
      }
      checkSchemaNode(sub, [...location, keyword, key], violations);
    }
  }
  for (const keyword of NUMBER_KEYWORDS) {
    if (node[keyword] !== undefined && (typeof node[keyword] !== 'number' || !Number.isFinite(node[keyword]))) {
      report(keyword, `must be a number (got ${previewJson(node[keyword])})`);
    }
  }
  if (typeof node.multipleOf === 'number' && node.multipleOf <= 0) {
    report('multipleOf', `must be greater than 0 (got ${node.multipleOf})`);
  }
  for (const keyword of ['exclusiveMinimum', 'exclusiveMaximum']) {
    const value = node[keyword];
    if (value !== undefined && typeof value !== 'number' && typeof value !== 'boolean') {
      report(keyword, `must be a number (got ${previewJson(value)})`);
    }
  }
  for (const keyword of COUNT_KEYWORDS) {
    const value = node[keyword];
    if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0)) {
      report(keyword, `must be a non-negative integer (got ${previewJson(value)})`);
    }
  }
  if (node.required !== undefined && !(Array.isArray(node.required) && node.required.every((k) => typeof k === 'string'))) {
    report('required', 'must be an array of property names');
  }
  if (node.enum !== undefined && !Array.isArray(node.enum)) {
    report('enum', `must be an array of allowed values (got ${previewJson(node.enum)})`);
  }
  for (const keyword of ['format', '$ref', '$id', '$anchor']) {
    if (node[keyword] !== undefined && typeof node[keyword] !== 'string') {
      report(keyword, `must be a string (got ${previewJson(node[keyword])})`);
    }
  }
  if (typeof node.pattern === 'string') {
    checkRegExp(node.pattern, (message) => report('pattern', message));
  } else if (node.pattern !== undefined) {
    report('pattern', `must be a regular expression string (got ${previewJson(node.pattern)})`);
  }
}

function checkTypeKeyword(type: unknown, report: (keyword: string, message: string) => void): void {
  if (type === undefined) {
    return;
  }
  const types = Array.isArray(type) ? type : [type];
  const unknown = types.filter((t) => typeof t !== 'string' || !INSTANCE_TYPES.has(t));
  if (types.length === 0 || unknown.length > 0) {
    report('type', `must be one of ${[...INSTANCE_TYPES].join(', ')} or an array of them (got ${previewJson(type)})`);
  }
}

function checkRegExp(pattern: string, report: (message: string) => void): void {
  try {
    new RegExp(pattern, 'u');
  } catch (e) {
    report(`is not a valid regular expression: ${(e as Error).message}`);
  }
}

function checkReferencesResolve(schema: object): SchemaViolation[] {
  let root: Schema;
  let lookup: Record<string, Schema | boolean>;
  try {
    root = JSON.parse(JSON.stringify(schema)) as Schema;
    lookup = dereference(root);
  } catch (e) {
    return [{ path: '', message: `cannot be used: ${(e as Error).message}` }];
  }
  const violations: SchemaViolation[] = [];
  walkSchemaObjects(root, [], (node, location) => {
    const absolute = node.__absolute_ref__;
    if (typeof node.$ref === 'string' && absolute !== undefined && lookup[absolute] === undefined) {
      violations.push({ path: schemaPath([...location, '$ref']), message: `cannot be resolved: ${JSON.stringify(node.$ref)}` });
    }
  });
  return violations;
}

function walkSchemaObjects(node: unknown, location: string[], visit: (node: Schema, location: string[]) => void): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walkSchemaObjects(item, [...location, String(i)], visit));
    return;
  }
  if (!isJsonObject(node)) {
    return;
  }
  visit(node as Schema, location);
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'enum' && key !== 'const' && key !== 'default' && key !== 'examples') {
      walkSchemaObjects(value, [...location, key], visit);
    }
  }
}

/** Schema locations use the same notation as value paths: 'properties.retries.minimum', 'anyOf[0].type'. */
function schemaPath(location: readonly string[]): string {
  return location.reduce((path, segment) => joinPath(path, segment, /^\d+$/.test(segment)), '');
}
