/**
 * Where a JSON text breaks, said so that a human can find it: UserParameters reach the function after CodePipeline has
 * substituted `#{Namespace.Variable}` references textually, so a variable value with a quote, a backslash or a line
 * break inside a JSON string breaks the JSON (aws-cdk #31213), and the only trace of it is the text itself.
 *
 * JSON.parse's messages differ between Node.js versions (some name a position, some quote the whole text), so the
 * place is found by a small scanner of the JSON grammar (RFC 8259) instead. Pure: no I/O.
 */

/** Where and why a text is not JSON. */
export interface JsonBreak {
  /** 0-based offset of the first character that cannot continue the JSON text (the text's length when it ends early). */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  /** What the grammar expected there, e.g. `',' or '}' after a property value`. */
  readonly expected: string;
}

/** How many characters of context are quoted on each side of the break. */
const CONTEXT_CHARS = 24;

/** Finds where `text` stops being JSON; undefined when it is valid JSON. */
export function findJsonBreak(text: string): JsonBreak | undefined {
  // A recursive-descent recognizer of RFC 8259 JSON, written as closures (a handler bundles it: local names minify).
  let pos = 0;
  let depth = 0;
  const fail = (expected: string): never => {
    throw new ScanError(pos, expected);
  };
  const whitespace = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const expectAfter = (close: string, what: string): boolean => {
    whitespace();
    if (text[pos] === close) {
      pos++;
      return true;
    }
    if (text[pos] !== ',') fail(`',' or '${close}' after ${what}`);
    pos++;
    whitespace();
    return false;
  };
  const string = () => {
    pos++; // the opening quote
    for (;;) {
      const c = text[pos];
      if (c === undefined) fail('a closing double quote');
      if (c === '"') return void pos++;
      if (c < ' ') fail('no raw control character (a line break or tab) inside a string: it must be escaped');
      if (c === '\\') {
        pos++;
        const escaped = text[pos];
        if (escaped === 'u') {
          pos++;
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(pos, pos + 4))) fail('four hex digits after \\u');
          pos += 3;
        } else if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) {
          fail('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) after a backslash');
        }
      }
      pos++;
    }
  };
  const value = (): void => {
    const c = text[pos];
    if (c === '"') return string();
    if (c === '{' || c === '[') {
      // Deep enough for any UserParameters (1000 characters at most), shallow enough for the stack.
      if (++depth > 512) fail('less nesting');
      pos++;
      whitespace();
      if (text[pos] === (c === '{' ? '}' : ']')) {pos++;} else if (c === '{') {
        do {
          if (text[pos] !== '"') fail('a property name in double quotes');
          string();
          whitespace();
          if (text[pos] !== ':') fail("':' after a property name");
          pos++;
          whitespace();
          value();
        } while (!expectAfter('}', 'a property value'));
      } else {
        do value();
        while (!expectAfter(']', 'an array element'));
      }
      depth--;
      return;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const number = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
      if (number === null || number[0] === '-') {
        if (c === '-') pos++;
        fail('a digit');
      }
      return void (pos += number![0].length);
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, pos)) return void (pos += literal.length);
    }
    fail('a JSON value');
  };
  try {
    whitespace();
    value();
    whitespace();
    if (pos < text.length) fail('the end of the text after the JSON value');
    return undefined;
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    const lines = text.slice(0, error.offset).split('\n');
    return { offset: error.offset, line: lines.length, column: lines[lines.length - 1].length + 1, expected: error.expected };
  }
}

/**
 * A message for UserParameters that do not parse as JSON: where the text broke (with a little quoted context), that
 * a substituted variable value may be the cause, and what to do about it.
 */
export function describeUnparsableJson(text: string): string {
  const found = findJsonBreak(text);
  const where =
    found === undefined
      ? ''
      : ` at character ${found.offset + 1} (line ${found.line}, column ${found.column}): expected ${found.expected}, ` +
        `found ${found.offset >= text.length ? 'the end of the text' : JSON.stringify(text[found.offset])} in ${quoteContext(text, found.offset)}`;
  return (
    `is not valid JSON${where}. ` +
    'CodePipeline substitutes #{Namespace.Variable} references textually, so a variable value holding a quote, a backslash ' +
    'or a line break (a commit message, for instance) breaks a JSON string it is placed in (aws-cdk #31213). ' +
    'Pass such values through an artifact, or reference the variable outside a JSON string ' +
    '(e.g. UserParameters.fromString(\'#{SourceVariables.CommitMessage}\') and job.rawUserParameters)'
  );
}

/** `…"msg": "fix "quoted" bu…` with the break marked by `⟨here⟩`; line breaks shown as \n. */
function quoteContext(text: string, offset: number): string {
  const start = Math.max(0, offset - CONTEXT_CHARS);
  const end = Math.min(text.length, offset + CONTEXT_CHARS);
  const show = (s: string) => s.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return `${start > 0 ? '…' : ''}${show(text.slice(start, offset))}⟨here⟩${show(text.slice(offset, end))}${end < text.length ? '…' : ''}`;
}

class ScanError extends Error {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`expected ${expected} at ${offset}`);
  }
}
