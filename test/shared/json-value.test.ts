import { isJsonObject, jsonTypeOf, previewJson } from '../../src/shared/json-value';

test('a JSON object is any object that is neither null nor an array, whatever its prototype', () => {
  expect([{}, Object.create(null), new Date(0), { a: [1] }].map(isJsonObject)).toEqual([true, true, true, true]);
  expect([null, [], 'x', 1, undefined].map(isJsonObject)).toEqual([false, false, false, false, false]);
});

test('the JSON type names null and arrays apart from objects', () => {
  expect([null, [], {}, 'x', 1, true].map(jsonTypeOf)).toEqual(['null', 'array', 'object', 'string', 'number', 'boolean']);
});

test('a long value is previewed as JSON cut at 60 characters', () => {
  expect(previewJson('x'.repeat(100))).toBe(`"${'x'.repeat(56)}...`);
  expect(previewJson(undefined)).toBe('undefined');
});
