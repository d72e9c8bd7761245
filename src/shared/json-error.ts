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
  const scanner = new Scanner(text);
  try {
    scanner.whitespace();
    scanner.value();
    scanner.whitespace();
    if (scanner.pos < text.length) scanner.fail('the end of the text after the JSON value');
    return undefined;
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    const before = text.slice(0, error.offset);
    const lines = before.split('\n');
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

/** A recursive-descent recognizer of RFC 8259 JSON that reports the first offset where the grammar fails. */
class Scanner {
  pos = 0;
  /** Nesting depth: deep enough for any UserParameters (1000 characters at most), shallow enough for the stack. */
  private depth = 0;

  constructor(private readonly text: string) {}

  fail(expected: string): never {
    throw new ScanError(this.pos, expected);
  }

  whitespace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos])) this.pos++;
  }

  value(): void {
    const c = this.text[this.pos];
    if (c === '{') return this.nested(() => this.object());
    if (c === '[') return this.nested(() => this.array());
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const literal of ['true', 'false', 'null']) {
      if (this.text.startsWith(literal, this.pos)) {
        this.pos += literal.length;
        return;
      }
    }
    this.fail('a JSON value');
  }

  private nested(parse: () => void): void {
    if (++this.depth > 512) this.fail('less nesting');
    parse();
    this.depth--;
  }

  private object(): void {
    this.pos++; // {
    this.whitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail('a property name in double quotes');
      this.string();
      this.whitespace();
      if (this.text[this.pos] !== ':') this.fail("':' after a property name");
      this.pos++;
      this.whitespace();
      this.value();
      this.whitespace();
      const c = this.text[this.pos];
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail("',' or '}' after a property value");
      this.pos++;
      this.whitespace();
    }
  }

  private array(): void {
    this.pos++; // [
    this.whitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value();
      this.whitespace();
      const c = this.text[this.pos];
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail("',' or ']' after an array element");
      this.pos++;
      this.whitespace();
    }
  }

  private string(): void {
    this.pos++; // opening quote
    for (;;) {
      if (this.pos >= this.text.length) this.fail('a closing double quote');
      const c = this.text[this.pos];
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c < ' ') this.fail('no raw control character (a line break or tab) inside a string: it must be escaped');
      if (c === '\\') {
        const escaped = this.text[this.pos + 1];
        if (escaped === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) {
            this.pos += 2;
            this.fail('four hex digits after \\u');
          }
          this.pos += 6;
          continue;
        }
        if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) {
          this.pos++;
          this.fail('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) after a backslash');
        }
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
  }

  private number(): void {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (match === null || match[0] === '-') {
      this.pos += this.text[this.pos] === '-' ? 1 : 0;
      this.fail('a digit');
    }
    this.pos += match[0].length;
  }
}
