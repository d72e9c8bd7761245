/**
 * How the checkers look at JSON data (a parsed value, a JSON Schema) and show it in a message. Pure: no I/O.
 */

/**
 * A JSON object: an object that is neither null nor an array. Parsed JSON holds no class instances, so unlike the
 * constructs' `isPlainObject` (private/tokens.ts) this asks nothing of the prototype.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type of a value as messages name it: 'null', 'array', 'object', 'string', ... */
export function jsonTypeOf(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value;
}

/** The value as JSON text, cut short for a message. */
export function previewJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
