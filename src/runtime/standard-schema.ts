/**
 * Standard Schema (https://standardschema.dev): the common interface of zod (3.24+ and 4), valibot, arktype and
 * others, so that `jobHandler({ schema })` takes the validator a user already has without depending on any of them.
 *
 * The types are the spec's own (`@standard-schema/spec` v1), copied as the spec invites ("you can copy-paste the
 * types into your project"), so the runtime carries no dependency for them.
 */
import type { SchemaViolation } from '../shared/field-path';
import { fieldPath } from '../shared/field-path';

/** A schema of any library implementing Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- the spec's own shape (StandardSchemaV1.InferOutput<...>)
export declare namespace StandardSchemaV1 {
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
  }
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  export interface PathSegment {
    readonly key: PropertyKey;
  }
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}

/** Whether `schema` is a Standard Schema object (anything with a `~standard` property holding `validate`). */
export function isStandardSchema(schema: unknown): schema is StandardSchemaV1 {
  if ((typeof schema !== 'object' && typeof schema !== 'function') || schema === null) return false;
  const props = (schema as { '~standard'?: unknown })['~standard'];
  return typeof props === 'object' && props !== null && typeof (props as { validate?: unknown }).validate === 'function';
}

/**
 * Validates with a Standard Schema; returns the schema's output (zod's transforms and defaults applied) or the
 * violations, their fields named as the JSON Schema checker names them (`targets[0].url`).
 */
export async function validateStandard(
  schema: StandardSchemaV1,
  value: unknown,
): Promise<{ value: unknown; violations?: undefined } | { violations: SchemaViolation[] }> {
  const result = await schema['~standard'].validate(value);
  if (result.issues === undefined) return { value: result.value };
  const violations = result.issues.map((issue) => ({ path: issuePath(issue), message: lowerFirst(issue.message) }));
  return { violations: violations.length > 0 ? violations : [{ path: '', message: 'is invalid' }] };
}

function issuePath(issue: StandardSchemaV1.Issue): string {
  const segments = (issue.path ?? []).map((segment) => {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    return typeof key === 'symbol' ? String(key) : key;
  });
  return fieldPath(segments.map((key) => (typeof key === 'number' ? key : String(key))));
}

/** Validators' messages are sentences ("Invalid input: ..."); after "field: " they read better in lower case. */
function lowerFirst(message: string): string {
  return /^[A-Z][a-z]/.test(message) ? message[0].toLowerCase() + message.slice(1) : message;
}
