/**
 * The runtime's house rules, checked on the sources: it never imports aws-cdk-lib or constructs (the lint zones in
 * .projenrc.ts guard the same at lint time), and the heavy parts load on first use, not at import (the cold-start
 * target in the README's Performance section).
 */
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', 'src');
const runtimeFiles = [
  ...fs.readdirSync(path.join(SRC, 'runtime')).map((f) => path.join(SRC, 'runtime', f)),
  path.join(SRC, 'shared', 'event.ts'),
  path.join(SRC, 'shared', 'errors.ts'),
].filter((f) => f.endsWith('.ts'));

/** Module specifiers of top-level `import ... from '...'` statements (type-only imports excluded). */
function valueImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)].map((m) => m[1]);
}

test('there are runtime sources to check', () => {
  expect(runtimeFiles.length).toBeGreaterThan(10);
});

test.each(runtimeFiles.map((f) => [path.relative(SRC, f)]))('%s imports neither aws-cdk-lib nor constructs', (file) => {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  expect(text).not.toMatch(/from '(aws-cdk-lib|constructs)(\/[^']*)?'/);
  expect(text).not.toMatch(/require\('(aws-cdk-lib|constructs)/);
});

test('yauzl, yazl, lib-storage and the schema checker are never imported at the top level', () => {
  const heavy = /^(yauzl|yazl|@aws-sdk\/lib-storage|@cfworker\/json-schema|(\.\.\/shared|\.)\/(user-parameters|schema)-check)$/;
  const offenders = runtimeFiles.flatMap((f) => valueImports(f).filter((m) => heavy.test(m)).map((m) => `${path.relative(SRC, f)}: ${m}`));
  expect(offenders).toEqual([]);
});
