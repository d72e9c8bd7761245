import * as vm from 'vm';
import { CONTINUATION_STATE_MAX_LENGTH, decodeContinuation, encodeContinuation } from '../../src/runtime/continuation';
import { checkOutputVariables, failureOf, successInput } from '../../src/runtime/results';
import { resolveLimits, safeEntryPath, DEFAULT_EXTRACTION_LIMITS } from '../../src/runtime/zip/safety';
import { JobFailedError, UserParametersError } from '../../src/shared/errors';
import { CONTINUATION_TOKEN_MAX_LENGTH } from '../../src/shared/limits';

describe('continuation tokens', () => {
  test('a state round-trips through its token', () => {
    const state = { step: 2, ids: ['a', 'b'], nested: { ok: true } };
    expect(decodeContinuation(encodeContinuation(state))).toEqual({ kind: 'state', state });
  });

  test('a state of exactly the largest size fits the 2048-character token', () => {
    const state = 'x'.repeat(CONTINUATION_STATE_MAX_LENGTH - 2); // two quotes in JSON
    expect(encodeContinuation(state)).toHaveLength(CONTINUATION_TOKEN_MAX_LENGTH);
  });

  test('one character more is refused with the sizes', () => {
    const state = 'x'.repeat(CONTINUATION_STATE_MAX_LENGTH - 1);
    expect(() => encodeContinuation(state)).toThrow(JobFailedError);
    expect(() => encodeContinuation(state)).toThrow(/state is 2044 characters as JSON, but at most 2043 fit/);
  });

  test('a state that is not JSON-serializable is refused', () => {
    expect(() => encodeContinuation({ n: BigInt(1) })).toThrow(/not JSON-serializable/);
    expect(() => encodeContinuation(() => 1)).toThrow(/not JSON-serializable/);
  });

  test('no state still makes a valid (non-empty) token', () => {
    const token = encodeContinuation(undefined);
    expect(token.length).toBeGreaterThan(0);
    expect(decodeContinuation(token)).toEqual({ kind: 'state', state: null });
  });

  test('a token written by something else is passed on as foreign', () => {
    expect(decodeContinuation('A continuation token if continuing job')).toEqual({ kind: 'foreign', token: 'A continuation token if continuing job' });
  });

  test('no token means no continuation', () => {
    expect(decodeContinuation(undefined)).toEqual({ kind: 'none' });
  });

  test('a corrupt token of ours fails clearly', () => {
    expect(() => decodeContinuation('cpi1:{not json')).toThrow(/continuation token of this job is corrupt/);
  });
});

describe('failureOf: any thrown value becomes a failure', () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  test.each([
    ['a circular object', circular, /The handler threw .*"self":"\[circular\]"/],
    ['a BigInt', 10n ** 30n, /The handler threw the bigint 1000000000000000000000000000000/],
    ['an object whose toJSON throws', { toJSON: () => { throw new Error('nope'); } }, /The handler threw .*unserializable.*nope/],
    ['undefined', undefined, /The handler threw undefined/],
    ['a symbol', Symbol('s'), /The handler threw Symbol\(s\)/],
    ['an object without a prototype', Object.create(null), /The handler threw \{\}/],
    ['an error whose message getter throws', Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('getter'); } }), /The handler threw an object of class Error that could not be read/],
  ])('%s', (_name, value, message) => {
    const failure = failureOf(value, 'r1');
    expect(failure.type).toBe('JobFailed');
    expect(failure.message).toMatch(message);
  });
});

describe('failureOf', () => {
  test('JobFailedError keeps its type and message', () => {
    expect(failureOf(new JobFailedError('bad', 'RevisionOutOfSync'), 'r1')).toEqual({ type: 'RevisionOutOfSync', message: 'bad', externalExecutionId: 'r1' });
  });

  test('UserParametersError is a ConfigurationError', () => {
    expect(failureOf(new UserParametersError([{ path: 'retries', message: 'must be >= 0' }]), undefined)).toEqual({
      type: 'ConfigurationError',
      message: 'UserParameters: retries: must be >= 0',
    });
  });

  test('an access-denied error from S3 is a PermissionError', () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    expect(failureOf(denied, undefined)).toEqual({ type: 'PermissionError', message: 'AccessDenied: Access Denied' });
  });

  test('an error from another realm is still read as an error', () => {
    const foreign = vm.runInNewContext('new RangeError("out of range")');
    expect(foreign instanceof Error).toBe(false);
    expect(failureOf(foreign, undefined)).toEqual({ type: 'JobFailed', message: 'RangeError: out of range' });
  });

  test('an error carrying a failure type of another copy of the library keeps it', () => {
    const copy = Object.assign(new Error('stale'), { name: 'JobFailedError', failureType: 'RevisionUnavailable' });
    expect(failureOf(copy, undefined).type).toBe('RevisionUnavailable');
  });

  test('a thrown non-error is described', () => {
    expect(failureOf('plain string', undefined).message).toBe('The handler threw plain string');
    expect(failureOf({ code: 7 }, undefined).message).toBe('The handler threw {"code":7}');
  });

  test('JobFailedError refuses a failure type the API does not know', () => {
    expect(() => new JobFailedError('x', 'Oops' as any)).toThrow(/failureType must be one of JobFailed, ConfigurationError/);
  });
});

describe('success results', () => {
  test('percentComplete is rounded and clamped to 0..100', () => {
    expect(successInput('j', { percentComplete: 140.2 }, undefined).executionDetails).toEqual({ percentComplete: 100 });
    expect(successInput('j', { percentComplete: -3 }, undefined).executionDetails).toEqual({ percentComplete: 0 });
    expect(successInput('j', { percentComplete: 33.5 }, undefined).executionDetails).toEqual({ percentComplete: 34 });
  });

  test('an external execution id longer than the API allows is left out, not cut', () => {
    expect(successInput('j', { externalExecutionId: 'x'.repeat(1501) }, undefined).executionDetails).toBeUndefined();
  });

  test('a handler returning something other than an object fails clearly', () => {
    expect(() => successInput('j', 42 as any, undefined)).toThrow(/The handler returned number/);
  });

  test('output variable names allow letters, digits, @, - and _ only', () => {
    expect(() => checkOutputVariables({ 'A-b_c@1': 'x' })).not.toThrow();
    expect(() => checkOutputVariables({ 'a.b': 'x' })).toThrow(/name "a.b" does not match/);
    expect(() => checkOutputVariables({ '': 'x' })).toThrow(/name "" does not match/);
  });
});

describe('zip safety helpers', () => {
  test('safe entry paths are normalised', () => {
    expect(safeEntryPath('./a//b/./c.txt', 'A')).toBe('a/b/c.txt');
    expect(safeEntryPath('a\\b\\c.txt', 'A')).toBe('a/b/c.txt');
  });

  test.each(['..', 'a/..', '/etc/passwd', '\\\\server\\share\\x', 'c:evil', 'D:\\x', 'a\0b', '', './'])('%j is refused', (name) => {
    expect(() => safeEntryPath(name, 'A')).toThrow(/refusing to extract/);
  });

  test('limits given as undefined keep their defaults', () => {
    expect(resolveLimits({ maxEntries: 5, maxTotalBytes: undefined })).toEqual({ ...DEFAULT_EXTRACTION_LIMITS, maxEntries: 5 });
  });
});
