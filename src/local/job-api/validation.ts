/**
 * Checking a request as the API model does (required members, lengths, patterns, enums; a closed set of members) and
 * as the service does beyond it (output variables), with AWS's error codes and messages.
 */
import { ApiError } from './errors';
import type { JobReport } from './types';
import { OUTPUT_VARIABLES_MAX_BYTES } from '../../shared/limits';
import { JOB_API_SHAPES, type Shape } from '../job-api-shapes';

/** How much of an offending value a ValidationException quotes. */
const QUOTED_VALUE_MAX_LENGTH = 120;

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > QUOTED_VALUE_MAX_LENGTH ? `${text.slice(0, QUOTED_VALUE_MAX_LENGTH)}...` : text;
}

/** The message AWS's request validation produces: "2 validation errors detected: Value ... at 'x' failed ...; ...". */
export function validationError(violations: readonly string[]): ApiError {
  const count = violations.length === 1 ? '1 validation error' : `${violations.length} validation errors`;
  return new ApiError('ValidationException', `${count} detected: ${violations.join('; ')}`);
}

function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** Type errors are SerializationException on AWS (the JSON does not deserialize); constraint errors are collected. */
export function checkShape(shapeName: string, value: unknown, path: string, violations: string[]): void {
  const shape: Shape = JOB_API_SHAPES[shapeName];
  const at = path === '' ? 'the request' : `'${path}'`;
  const typeError = (expected: string) =>
    new ApiError('SerializationException', `Expected ${expected} at ${at} (shape ${shapeName}), got ${value === null ? 'null' : typeof value}.`);
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object');
      const obj = value as Record<string, unknown>;
      // The model is closed: a member it does not have (outputVariables on a failure, a typo) is refused, not stored.
      const unknown = Object.keys(obj).filter((member) => !Object.prototype.hasOwnProperty.call(shape.members, member));
      if (unknown.length > 0) {
        throw new ApiError(
          'SerializationException',
          `Unknown member${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${join(path, m)}'`).join(', ')} in ${at} (shape ${shapeName}); ` +
            `its members are: ${Object.keys(shape.members).join(', ')}.`,
        );
      }
      for (const member of shape.required ?? []) {
        if (obj[member] === undefined || obj[member] === null) {
          violations.push(`Value null at '${join(path, member)}' failed to satisfy constraint: Member must not be null`);
        }
      }
      for (const [member, memberShape] of Object.entries(shape.members)) {
        if (obj[member] !== undefined && obj[member] !== null) checkShape(memberShape, obj[member], join(path, member), violations);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') throw typeError('a string');
      const fail = (constraint: string) => violations.push(`Value '${quote(value)}' at ${at} failed to satisfy constraint: ${constraint}`);
      if (shape.min !== undefined && value.length < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
      if (shape.pattern !== undefined && !fullMatch(shape.pattern).test(value)) fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      if (shape.enum !== undefined && !shape.enum.includes(value)) fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      return;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError('an integer');
      const fail = (constraint: string) => violations.push(`Value '${value}' at ${at} failed to satisfy constraint: ${constraint}`);
      if (shape.min !== undefined && value < shape.min) fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object (map)');
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const keyViolations: string[] = [];
        checkShape(shape.key, key, path, keyViolations);
        for (const v of keyViolations) violations.push(v.replace('failed to satisfy constraint: ', 'failed to satisfy constraint: Map keys must satisfy constraint: '));
        checkShape(shape.value, item, `${path}.${key}`, violations);
      }
      return;
    }
    case 'timestamp':
      if (typeof value !== 'number') throw typeError('a timestamp (epoch seconds)');
      return;
  }
}

function join(path: string, member: string): string {
  return path === '' ? member : `${path}.${member}`;
}

/**
 * CodePipeline refuses output variables together with a continuation token (they belong to the action's final
 * result) and caps their total size (quotas: 122,880 bytes for all values of one action).
 */
export function checkOutputVariables(report: JobReport): void {
  const variables = report.outputVariables;
  if (variables === undefined) return;
  if (report.continuationToken !== undefined) {
    throw validationError(['outputVariables cannot be set together with a continuationToken: report them with the final result']);
  }
  const bytes = Object.values(variables).reduce((sum, value) => sum + Buffer.byteLength(value, 'utf8'), 0);
  if (bytes > OUTPUT_VARIABLES_MAX_BYTES) {
    throw new ApiError(
      'OutputVariablesSizeExceededException',
      `The output variables total ${bytes} bytes, more than the ${OUTPUT_VARIABLES_MAX_BYTES} bytes allowed for one action.`,
    );
  }
}
