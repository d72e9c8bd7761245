import { Token } from 'aws-cdk-lib';
import { ANY_VARIABLE_REFERENCE } from '../shared/variable-references';

/** Says whether a string is not known at synth time: a CDK token or a `#{Namespace.Variable}` reference. */
export function isUnresolvedString(value: string): boolean {
  return Token.isUnresolved(value) || new RegExp(ANY_VARIABLE_REFERENCE.source).test(value);
}

/** Says whether a value holds a CDK token anywhere (a string, a number, a key or an IResolvable object). */
export function containsToken(value: unknown): boolean {
  if (Token.isUnresolved(value)) {
    return true;
  }
  if (Array.isArray(value)) {
    return value.some(containsToken);
  }
  if (isPlainObject(value)) {
    return Object.entries(value).some(([k, v]) => Token.isUnresolved(k) || containsToken(v));
  }
  return false;
}

/** A plain object (an object literal, a Python dict through jsii), not a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
