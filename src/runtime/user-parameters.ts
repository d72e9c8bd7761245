/**
 * UserParameters at run time: parsed as JSON and, when the handler has a schema, checked against it: any Standard
 * Schema (zod, valibot, arktype), whose output then becomes `job.userParameters`, or a JSON Schema (through the
 * `jsonSchema` reader the handler was built with: json-schema-reader.ts).
 */
import { isStandardSchema, StandardSchemaV1, validateStandard } from './standard-schema';
import { UserParametersError } from '../shared/errors';
import { describeUnparsableJson } from '../shared/json-error';

export type UserParametersReader = (raw: string | undefined) => Promise<unknown>;

/** How a JSON Schema is checked; absent in a handler built without the `jsonSchema` feature. */
export type JsonSchemaReaderFactory = (schema: object) => UserParametersReader;

/**
 * Parses and checks UserParameters. Throws at once (when the handler is built, not per job) for a JSON Schema without
 * a JSON Schema checker.
 */
export function userParametersReader(schema: object | StandardSchemaV1 | undefined, jsonSchema?: JsonSchemaReaderFactory): UserParametersReader {
  if (schema === undefined) {
    return async (raw) => {
      if (raw === undefined) return undefined;
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    };
  }
  if (isStandardSchema(schema)) {
    return async (raw) => {
      const checked = await validateStandard(schema, parseUserParametersJson(raw));
      if (checked.violations !== undefined) {
        // Named as the JSON Schema path names it, rather than the validator's "expected object, received undefined".
        throw new UserParametersError(raw === undefined ? [{ path: '', message: 'is missing (no UserParameters given)' }] : checked.violations);
      }
      return checked.value;
    };
  }
  if (jsonSchema === undefined) {
    throw new TypeError(
      "jobHandler: a JSON Schema needs the jsonSchema feature in 'use' (runtime/core), the jobHandler of " +
        "'cdk-codepipeline-invoke/runtime', or a Standard Schema instead",
    );
  }
  return jsonSchema(schema);
}

/** The parameters as JSON (undefined when the action has none); text that is not JSON fails, saying where it broke. */
export function parseUserParametersJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new UserParametersError([{ path: '', message: describeUnparsableJson(raw) }]);
  }
}
