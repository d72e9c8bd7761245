#!/usr/bin/env node
// Checks behind the packaging tasks (.projenrc.ts). Plain Node, because projen runs task steps in its own portable
// shell, not bash.
//   node scripts/package-checks.js assets        fails unless the pre-bundled Lambda assets exist (package:*)
//   node scripts/package-checks.js has <lang>    exit 0 when <lang>'s packaging toolchain is on PATH (package-all)
//   node scripts/package-checks.js skipped       prints one line naming the languages package-all skipped, and why
const fs = require('fs');
const path = require('path');

// What jsii-pacmak runs for each target language.
const TOOLCHAINS = {
  java: ['java', 'mvn'],
  python: ['python3'],
  dotnet: ['dotnet'],
  go: ['go'],
};
// What compile builds besides jsii's lib/: the library's own Lambda code (bundled by `npx projen bundle`; constructs
// load it at the user's synth) and the ESM build that package.json's `import` conditions name (scripts/build-esm.ts).
const ASSETS = [
  'assets/crash-reporter.lambda/index.js',
  'lib-esm/runtime/index.mjs',
  'lib-esm/runtime/core.mjs',
  'lib-esm/local/index.mjs',
];

function onPath(command) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE;.CMD').split(';') : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    for (const ext of exts) {
      try {
        fs.accessSync(path.join(dir, command + ext), fs.constants.X_OK);
        return true;
      } catch {
        // not in this directory
      }
    }
  }
  return false;
}

function missing(lang) {
  return TOOLCHAINS[lang].filter((c) => !onPath(c));
}

const [what, arg] = process.argv.slice(2);
if (what === 'assets') {
  const absent = ASSETS.filter((f) => !fs.existsSync(f) || fs.statSync(f).size === 0);
  if (absent.length > 0) {
    console.error(`packaging: ${absent.join(', ')} missing: run \`npx projen compile\` (it bundles the Lambda assets and builds the ESM entry points) before packaging; a tarball without them fails at the user's synth or import`);
    process.exit(1);
  }
} else if (what === 'has') {
  if (!TOOLCHAINS[arg]) throw new Error(`unknown language ${arg}`);
  process.exit(missing(arg).length === 0 ? 0 : 1);
} else if (what === 'skipped') {
  const skipped = Object.keys(TOOLCHAINS)
    .filter((lang) => missing(lang).length > 0)
    .map((lang) => `${lang} (no ${missing(lang).join(', ')} on PATH)`);
  console.log(skipped.length > 0 ? `package-all: skipped ${skipped.join('; ')}; packaged the others` : 'package-all: packaged every language');
} else {
  console.error('usage: node scripts/package-checks.js assets | has <lang> | skipped');
  process.exit(2);
}
