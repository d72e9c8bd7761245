/**
 * Turns a Quick start section of README.md into the bash script a user would type, for scripts/ci-quickstart.sh.
 *
 *   ts-node --transpile-only -P tsconfig.dev.json scripts/ci-quickstart-extract.ts --section 'Quick start' \
 *     [--npm-package dist/js/x.tgz] [--pip-package dist/python/x.whl] [--require app.ts,handler.ts] > quickstart.sh
 *
 * The section is the contract (README "Quick start"):
 * - the section runs from its heading to the next heading of any level;
 * - fenced ```sh blocks run in order, as they are;
 * - every file is a fenced block right after a paragraph that starts with its file name in backticks (`app.ts`, ...):
 *   the script writes it, at that point of the sequence, in the folder the sh blocks have moved to;
 * - a fence without a language (or `console`/`text`) is output shown to the reader, not run;
 * - any other block (code with no file name) breaks the contract, so does a missing --require'd file;
 * - the only change: `cdk-codepipeline-invoke` as a word in an `npm install` line becomes --npm-package, in a
 *   `pip install` line --pip-package. Each given package must replace something, or the README no longer installs it.
 */
import * as fs from 'fs';
import * as path from 'path';

const PACKAGE = 'cdk-codepipeline-invoke';
const DISPLAY_LANGS = new Set(['', 'console', 'text']);
const FILE_NAME = /^`([A-Za-z0-9_.-]+\.[A-Za-z0-9]+)`/;

interface Options {
  readme: string;
  section: string;
  npmPackage?: string;
  pipPackage?: string;
  require: string[];
}

type Step = { kind: 'sh'; text: string } | { kind: 'file'; name: string; text: string };

function parseArgs(argv: string[]): Options {
  const opts: Options = { readme: 'README.md', section: '', require: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--readme') opts.readme = value;
    else if (flag === '--section') opts.section = value;
    else if (flag === '--npm-package') opts.npmPackage = path.resolve(value);
    else if (flag === '--pip-package') opts.pipPackage = path.resolve(value);
    else if (flag === '--require') opts.require = value.split(',').filter(Boolean);
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!opts.section) throw new Error('--section is required');
  return opts;
}

/** The lines of the section under `heading` (any level), up to the next heading outside a code fence. */
function sectionLines(markdown: string, heading: string): { lines: string[]; firstLine: number } {
  const lines = markdown.split('\n');
  let start = -1;
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('```')) inFence = !inFence;
    if (inFence) continue;
    const h = /^#{1,6} (.*)$/.exec(lines[i]);
    if (!h) continue;
    if (start >= 0) return { lines: lines.slice(start, i), firstLine: start + 1 };
    if (h[1].trim() === heading) start = i + 1;
  }
  if (start < 0) throw new Error(`README has no heading "${heading}"`);
  return { lines: lines.slice(start), firstLine: start + 1 };
}

/** The section's runnable steps, in order. */
function steps(lines: string[], firstLine: number): Step[] {
  const result: Step[] = [];
  let paragraph: string[] = []; // the paragraph before the current position
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```(\S*)(.*)$/.exec(line);
    if (!fence) {
      if (line.trim() === '') {
        if (paragraph.length > 0 && lines[i + 1]?.startsWith('```')) continue; // a blank line before the fence
        paragraph = [];
      } else {
        paragraph.push(line);
      }
      continue;
    }
    const lang = fence[1];
    const body: string[] = [];
    const at = firstLine + i;
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`README line ${at}: unclosed code fence`);
    const text = body.join('\n') + '\n';
    const named = paragraph.length > 0 ? FILE_NAME.exec(paragraph[0]) : null;
    if (lang === 'sh') {
      if (named) throw new Error(`README line ${at}: a sh block after \`${named[1]}\`: commands and files must not mix`);
      result.push({ kind: 'sh', text });
    } else if (named) {
      result.push({ kind: 'file', name: named[1], text });
    } else if (!DISPLAY_LANGS.has(lang)) {
      throw new Error(
        `README line ${at}: a \`\`\`${lang} block with no file name: start the paragraph before it with the file name in backticks`,
      );
    }
    paragraph = [];
  }
  return result;
}

/** `cdk-codepipeline-invoke` as a whole word (not `cdk-codepipeline-invoke/runtime`) in `<tool> install` commands. */
function substitute(text: string, tool: 'npm' | 'pip', replacement: string): { text: string; count: number } {
  let count = 0;
  const out = text
    .split('\n')
    .map((line) =>
      line.replace(new RegExp(`\\b${tool} install\\b[^&|;]*`, 'g'), (command) =>
        command.replace(new RegExp(`(^|\\s)${PACKAGE}(?=\\s|$)`, 'g'), (_m, before: string) => {
          count++;
          return `${before}${shellQuote(replacement)}`;
        }),
      ),
    )
    .join('\n');
  return { text: out, count };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

function script(opts: Options): string {
  const { lines, firstLine } = sectionLines(fs.readFileSync(opts.readme, 'utf8'), opts.section);
  const all = steps(lines, firstLine);
  const files = all.filter((s): s is Extract<Step, { kind: 'file' }> => s.kind === 'file').map((s) => s.name);
  const missing = opts.require.filter((f) => !files.includes(f));
  if (missing.length > 0) throw new Error(`"${opts.section}" has no file block for ${missing.join(', ')} (has: ${files.join(', ') || 'none'})`);

  const counts = { npm: 0, pip: 0 };
  const out = [
    '#!/usr/bin/env bash',
    `# Generated from README.md, section "${opts.section}", by scripts/ci-quickstart-extract.ts. Do not edit.`,
    'set -eo pipefail',
    'set -x',
  ];
  for (const step of all) {
    if (step.kind === 'sh') {
      let text = step.text;
      for (const [tool, pkg] of [['npm', opts.npmPackage], ['pip', opts.pipPackage]] as const) {
        if (pkg === undefined) continue;
        const r = substitute(text, tool, pkg);
        text = r.text;
        counts[tool] += r.count;
      }
      out.push(text.trimEnd());
    } else {
      let eof = 'QUICKSTART_EOF';
      while (step.text.includes(eof)) eof += '_';
      out.push(`cat > ${shellQuote(step.name)} <<'${eof}'\n${step.text}${eof}`);
    }
  }
  if (opts.npmPackage !== undefined && counts.npm === 0) throw new Error(`"${opts.section}": no \`npm install ... ${PACKAGE}\` to point at the tarball`);
  if (opts.pipPackage !== undefined && counts.pip === 0) throw new Error(`"${opts.section}": no \`pip install ... ${PACKAGE}\` to point at the wheel`);
  return out.join('\n') + '\n';
}

try {
  process.stdout.write(script(parseArgs(process.argv.slice(2))));
} catch (e) {
  console.error(`ci-quickstart-extract: ${(e as Error).message}`);
  process.exit(1);
}
