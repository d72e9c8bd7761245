/**
 * The published declarations (lib/**\/*.d.ts) must not import yauzl's or yazl's types: @types/yauzl and @types/yazl are
 * dev dependencies, so a user's `npx tsc --noEmit` fails with TS7016 on any declaration that imports them (issue #13).
 * Each source file's declaration is produced the way `tsc` writes it, without type-checking (transpileDeclaration), and
 * searched for imports of either module. (What inference could add is covered by compiling: `npx projen compile`, then
 * `grep -rl "yauzl\|yazl" lib --include=*.d.ts` finds nothing.)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');
const IMPORTS_ZIP_TYPES = /(from|import\()\s*['"](yauzl|yazl)['"]|\/\/\/\s*<reference\s+types=['"](yauzl|yazl)['"]/;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

test('no declaration the library publishes imports yauzl or yazl types', () => {
  const offenders = sourceFiles(SRC).filter((file) => {
    const { outputText } = ts.transpileDeclaration(fs.readFileSync(file, 'utf8'), { fileName: file, compilerOptions: { strict: true } });
    return IMPORTS_ZIP_TYPES.test(outputText);
  });
  expect(offenders.map((file) => path.relative(SRC, file))).toEqual([]);
});

test('the check sees an exported signature that names a yauzl type', () => {
  const { outputText } = ts.transpileDeclaration("import type { Entry } from 'yauzl';\nexport function f(e: Entry): void {}\n", { fileName: 'x.ts' });
  expect(IMPORTS_ZIP_TYPES.test(outputText)).toBe(true);
});
