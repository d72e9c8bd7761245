import { awscdk, javascript } from 'projen';

// The lowest aws-cdk-lib we support. 2.257.0 is the first release that both knows Lambda's Node.js 24 runtime
// (our default; Node.js 20 is deprecated since 2026-04-30) and satisfies cdk-nag 3's peer range (^2.257.0).
const CDK_VERSION = '2.257.0';

// Runtime dependencies that are not jsii modules must be bundled into the npm package (jsii rule).
// Each is used only by the Lambda-side runtime or the local tooling, never by the jsii constructs.
const BUNDLED_DEPS = [
  '@aws-sdk/client-codepipeline@^3', // reporting job results (the runtime and the crash reporter)
  '@aws-sdk/client-s3@^3', // artifact download/upload with the event's artifactCredentials
  '@aws-sdk/client-sts@^3', // AssumeRole of the job-result role when the function reports to another account
  '@aws-sdk/lib-storage@^3', // streamed multipart upload of output artifacts of unknown length
  // The local S3 server checks CRC32C / CRC64NVME with the SDK's own implementations (the code the client signed with).
  // An internal package of aws-sdk-js-v3 with no semver promise: pinned to the version client-s3 resolves.
  '@aws-sdk/checksums@3.1002.6',
  '@cfworker/json-schema@^4', // JSON Schema validator: 23 KB minified, no code generation, ~10 ms to load
  'fast-xml-parser@^5', // the embedded S3 server's XML request bodies (DeleteObjects, CompleteMultipartUpload): linear-time, no eval
];

const project = new awscdk.AwsCdkConstructLibrary({
  author: 'cdk-codepipeline-invoke maintainers',
  authorAddress: 'maintainers@cdk-codepipeline-invoke.dev',
  cdkVersion: CDK_VERSION,
  constructsVersion: '10.5.1',
  defaultReleaseBranch: 'main',
  jsiiVersion: '~6.0.0',
  name: 'cdk-codepipeline-invoke',
  description:
    'AWS CDK constructs and a typed Lambda runtime for CodePipeline Lambda invoke actions: typed UserParameters, artifacts, crash reporting and local job runs.',
  keywords: ['aws-cdk', 'cdk', 'codepipeline', 'lambda', 'cdk-pipelines', 'awscdk'],
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  repositoryUrl: 'https://github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke.git',
  license: 'Apache-2.0',

  // Release to every jsii target. Publishing runs in projen's release workflow and needs the registries' credentials
  // as repository secrets (NPM_TOKEN, TWINE_USERNAME/TWINE_PASSWORD, MAVEN_*, NUGET_API_KEY, GO_GITHUB_TOKEN); this
  // project configures the targets and builds the Python, Java and Go packages in CI, but publishes nothing itself.
  publishToPypi: {
    distName: 'cdk-codepipeline-invoke',
    module: 'cdk_codepipeline_invoke',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkcodepipelineinvoke',
    mavenGroupId: 'io.github.cdk-codepipeline-invoke',
    mavenArtifactId: 'cdk-codepipeline-invoke',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkCodepipelineInvoke',
    packageId: 'CdkCodepipelineInvoke',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke-go',
  },

  // The development tsconfig (src + test + examples + bench) is named tsconfig.dev.json, as CDK users expect.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    include: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/typescript/**/*.ts', 'scripts/**/*.ts', 'test/fixtures/**/*.mts', 'examples/typescript/**/*.mts'],
    exclude: ['node_modules', '**/cdk.out/**', 'tmp', 'bench/.cache', 'lib', 'lib-esm', 'dist'],
    compilerOptions: {},
  },

  bundledDeps: BUNDLED_DEPS,
  // `npx cdk-codepipeline-invoke generate-event | invoke`: the local tooling's CLI (src/local/cli.ts).
  bin: { 'cdk-codepipeline-invoke': 'lib/local/cli.js' },
  devDeps: [
    `aws-cdk-lib@${CDK_VERSION}`,
    'cdk-nag@^3',
    'esbuild@^0.25',
    'fast-check@^4',
    '@types/aws-lambda@^8',
    '@types/yauzl@^2',
    // The oracle of test/runtime/zip-central-directory.test.ts: our central directory reader (src/runtime/zip/) must
    // list what yauzl lists, and refuse what it refuses. Also a baseline of the extraction bench.
    'yauzl@^3',
    // yazl: the zip writer of a test handler written as users write theirs (test/local/fixtures/plain-handler.ts); the
    // runtime and the local tooling write zips with the runtime's own writer (src/runtime/zip/entry-writer.ts).
    'yazl@^3',
    '@types/yazl@^2',
    'json-schema-to-ts@^3',
    // Integ test (test/integ.*.ts). 2.245.0-alpha.0 is the newest integ-tests-alpha the npm registry serves (no
    // 2.257.0-alpha.0 was published); its peer range ^2.245.0 accepts our aws-cdk-lib 2.257.0.
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@^2.197',
    // Runtime ecosystem tests (issue #16): the user's own validator, logger and middleware, never our dependencies.
    // zod 4 implements Standard Schema and z.toJSONSchema (one schema for synth and run time); the Powertools Logger
    // and middy 6 (middy 7 needs Node.js 22) are what TypeScript Lambda users compose handlers with.
    'zod@^4',
    '@aws-lambda-powertools/logger@^2',
    // The logger's correlationIdSearchFn (JMESPath): the README's correlationIdPath '"CodePipeline.job".id' is tested.
    '@aws-lambda-powertools/jmespath@^2',
    '@middy/core@^6',
    // The AWS SDK's error classification: test/runtime/retry.test.ts checks the runtime's retry classifier against it
    // (the runtime does not import it: it would bring the SDK's retry middleware into every handler bundle).
    '@smithy/service-error-classification@^4',
  ],

  // Lambda handlers of the library itself (*.lambda.ts) are bundled with esbuild at build time, so consumers need
  // neither esbuild nor Docker at their synth.
  lambdaAutoDiscover: true,
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: { externals: ['@aws-sdk/*'], sourcemap: false },
  },
  integrationTestAutoDiscover: false,

  jestOptions: {
    // Snapshots never update themselves (CI included), and no task updates them: `npx jest --ci=false -u <file>`
    // after `npx projen bundle` does, on purpose, for the suites named.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      collectCoverage: false,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/setup-env.ts'],
      testTimeout: 60_000,
      // Jest's default ('50%') is one worker on a 2-core CI runner, which then idles while suites wait on subprocesses
      // (moto, python3, the aws CLI, the bundled CLI) and timers: two workers keep both cores busy.
      maxWorkers: '100%',
    },
  },

  gitignore: ['/tmp/', 'cdk.out/', '*.tsbuildinfo', '/.venv/', '/examples/**/cdk.out/'],
});

// The root tsconfig.json covers src/ only; test files are type-aware-linted against tsconfig.dev.json instead.
project.eslint?.addOverride({
  files: ['test/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts'],
  parserOptions: { projectService: false, project: './tsconfig.dev.json' },
} as any);
// The npm tarball carries lib/, assets/ and the docs, not the repository's tooling.
project.npmignore?.exclude('/.ci/', '/bench/', '/examples/', '/scripts/', '/rosetta/', '/tmp/', '/test-reports/', '/coverage/');
// The rooms of src/, guarded by lint rather than by a test that greps:
// - runtime/, shared/ and local/ never load aws-cdk-lib or constructs (they run in Lambda or a plain Node process);
// - runtime/ and shared/ never import local/ or the constructs; shared/ imports neither runtime/ nor local/;
// - the constructs reach runtime/ and local/ only from the `*.lambda.ts` bundle entries;
// - local/ reaches runtime/ through runtime/index, and through the crash reporter's handler, which it runs exactly as
//   the construct deploys it, and through the runtime's safe extraction (zip/extract.ts), with which local/internal/zip.ts
//   extracts output artifacts: runtime/index does not export it (it is not part of the runtime's public API).
const CONSTRUCT_FILES = ['./src/!(*.lambda).ts', './src/private/**'];
project.eslint?.addRules({
  'import/no-restricted-paths': [
    'error',
    {
      zones: [
        { target: ['./src/runtime', './src/shared'], from: './src/local', message: 'runtime/ and shared/ never import the local tooling' },
        { target: ['./src/runtime', './src/shared'], from: './src/private', message: 'runtime/ and shared/ never import the constructs' },
        { target: ['./src/runtime', './src/shared'], from: './src/*.ts', message: 'runtime/ and shared/ never import the constructs' },
        { target: './src/shared', from: './src/runtime', message: 'shared/ is the pure contract: it never imports the runtime' },
        { target: CONSTRUCT_FILES, from: './src/runtime', message: 'constructs reach the runtime only from *.lambda.ts bundle entries' },
        { target: CONSTRUCT_FILES, from: './src/local', message: 'constructs never import the local tooling' },
        {
          target: './src/local',
          from: './src/runtime',
          // zip/extract.ts and zip/write.ts: local runs extract outputs with the runtime's safe extraction and zip their
          // input folders with the runtime's zip writer (neither is part of runtime/index, the public runtime API).
          except: ['./index.ts', './crash-reporter.ts', './zip/extract.ts', './zip/write.ts'],
          message: 'local/ reaches the runtime through runtime/index (and the crash reporter it runs as deployed, its safe zip extraction and its zip writer)',
        },
      ],
    },
  ],
});
project.eslint?.addOverride({
  files: ['src/runtime/**/*.ts', 'src/shared/**/*.ts', 'src/local/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'runtime/, shared/ and local/ load without aws-cdk-lib and constructs' },
        ],
      },
    ],
  },
});
// Tests craft zip archives byte by byte: bit fields (modes, flags, DOS dates) are their subject.
project.eslint?.addOverride({ files: ['test/**/*.ts'], rules: { 'no-bitwise': 'off' } });

// `cdk-codepipeline-invoke/runtime` and `cdk-codepipeline-invoke/local` load without aws-cdk-lib. They come as ESM
// (lib-esm/, built by scripts/build-esm.ts after jsii's compile) for `import`, CommonJS (lib/) for `require`;
// `runtime/core` is the pay-for-what-you-use jobHandler. `sideEffects: false` lets bundlers drop unused modules.
project.package.addField('exports', {
  '.': { types: './lib/index.d.ts', default: './lib/index.js' },
  './runtime': { types: './lib/runtime/index.d.ts', import: './lib-esm/runtime/index.mjs', require: './lib/runtime/index.js' },
  './runtime/core': { types: './lib/runtime/core.d.ts', import: './lib-esm/runtime/core.mjs', require: './lib/runtime/core.js' },
  './local': { types: './lib/local/index.d.ts', import: './lib-esm/local/index.mjs', require: './lib/local/index.js' },
  './.jsii': './.jsii',
  './package.json': './package.json',
});
project.package.addField('sideEffects', false);
// Part of `compile` itself (not post-compile), so that `npx projen compile && npx projen package:js` packs it too.
project.compileTask.exec('ts-node --transpile-only --project tsconfig.dev.json scripts/build-esm.ts');
project.gitignore.exclude('/lib-esm/');
project.npmignore?.include('/lib-esm/');

// Integ test snapshots: `integ` verifies the committed snapshots offline (synth + diff, never a deployment);
// `integ:update` re-synthesizes and rewrites them without deploying (--dry-run); `integ:deploy` deploys every test,
// runs its assertions and destroys it again (needs AWS credentials; see the README, "Integration test").
// Test files are test/integ.<name>.ts (the regex leaves out helpers such as integ.<name>.handler.ts); they run with
// ts-node against tsconfig.dev.json, as the rest of test/.
const INTEG_ARGS = [
  'integ-runner',
  '--directory test',
  "--test-regex '^integ\\.[A-Za-z0-9-]+\\.ts$'",
  "--app 'ts-node --transpile-only -P tsconfig.dev.json {filePath}'",
];
const INTEG_ENV = { CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' };
project.addTask('integ', {
  description: 'Verify the integ test snapshots offline (no deployment)',
  env: INTEG_ENV,
  exec: INTEG_ARGS.join(' '),
  receiveArgs: true,
});
project.addTask('integ:update', {
  description: 'Re-synthesize the integ test snapshots without deploying',
  env: INTEG_ENV,
  exec: [...INTEG_ARGS, '--update-on-failed', '--dry-run'].join(' '),
  receiveArgs: true,
});
project.addTask('integ:deploy', {
  description: 'Deploy the integ tests to AWS, run their assertions, destroy them, and update the snapshots',
  env: INTEG_ENV,
  exec: [...INTEG_ARGS, '--update-on-failed', '--force'].join(' '),
  receiveArgs: true,
});

// README examples compile in every language: jsii-rosetta extracts them from the assembly (needs `.jsii`, i.e. after
// compile), compiles each ```ts block inside a fixture from rosetta/ (`fixture=NAME`, default rosetta/default.ts-fixture)
// and writes the translations to .jsii.tabl.json, which jsii-pacmak puts into the Python/Java/C#/Go READMEs.
// --strict fails on any snippet that doesn't compile. @types/node lets snippets use `path` and `__dirname`.
project.package.addField('jsiiRosetta', { strict: true, exampleDependencies: { '@types/node': '>=20' } });
// The tablet is a build output; rosetta fixtures, CI scripts and the other languages' examples are not for npm.
project.gitignore.exclude('/.jsii.tabl.json');
project.npmignore?.exclude('/.jsii.tabl.json', '/rosetta/', '/scripts/', '/examples/python/', '/examples/java/', '/examples/go/');
project.addTask('rosetta:extract', {
  description: 'Compile the README examples with jsii-rosetta (--strict, fixtures in rosetta/)',
  env: { JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
  exec: 'jsii-rosetta extract --strict .jsii',
});

// Tests synthesize stacks holding the crash reporter, whose code is the pre-bundled asset assets/crash-reporter.lambda
// (compile bundles it, see Packaging below). Bundle (~1 s, esbuild) before jest too, so `npx projen test` works on a
// clean clone.
const bundleTask = project.tasks.tryFind('bundle');
if (bundleTask) {
  project.testTask.prependSpawn(bundleTask);
}
// No task runs jest with --updateSnapshot: projen's `test:update` would make accepting every snapshot change one
// command away. Updating snapshots stays a deliberate jest call on the suites concerned (see the README, Develop).
project.tasks.removeTask('test:update');

// Benchmarks (the README's Performance section): ratios against baselines measured in the same run. A full run writes
// bench/results/<date>.json (committed: the README's Performance table is generated from the newest one); quick and
// partial runs write tmp/bench/results.json. Runs from source after `npm ci` (children are compiled by esbuild, never
// timed under ts-node); BENCH_QUICK=1 is the CI smoke. Generated artifacts are cached in bench/.cache.
project.gitignore.addPatterns('/bench/.cache/');
// The streaming Node baselines of the artifact benchmarks: archiver (upload), adm-zip (extract).
project.addDevDeps('archiver@^7', '@types/archiver@^6', 'adm-zip@^0.5', '@types/adm-zip@^0.5');
const benchTask = project.addTask('bench', {
  description: 'Benchmarks against baselines (BENCH_QUICK=1: 20 MB artifacts, fewer runs); a full run writes bench/results/<date>.json',
  env: { NODE_NO_WARNINGS: '1', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
});
if (bundleTask) {
  benchTask.spawn(bundleTask);
}
benchTask.exec('ts-node --transpile-only --project tsconfig.dev.json bench/run.ts');
// `npx projen bench:readme`: the README's Performance table, regenerated from the newest bench/results/*.json.
project.addTask('bench:readme', {
  description: "Regenerates the README's Performance table from the newest bench/results/*.json",
}).exec('ts-node --transpile-only --project tsconfig.dev.json bench/readme.ts');

// `npx projen demo` (README "Develop"): synthesizes the example app (examples/typescript) in-process, prints its
// stages, rendered UserParameters and grants, then runs its handler through a local CodePipeline job. Runs from source with ts-node, so it works right after `npm ci` with no
// build; the crash reporter's bundle, the one prebuilt asset the app needs, is made first.
const demoTask = project.addTask('demo', {
  description:
    'Synthesize the example pipeline app, print its stages, UserParameters and grants, and run its handler through a local CodePipeline job',
  env: { NODE_NO_WARNINGS: '1', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
});
if (bundleTask) {
  demoTask.spawn(bundleTask);
}
demoTask.exec('ts-node --transpile-only --project tsconfig.dev.json examples/typescript/demo-local.ts');

// Packaging (README "Develop"). The npm tarball must carry the pre-bundled crash reporter (assets/), so `compile`
// bundles first (instead of pre-compile: `npx projen compile && npx projen package:js` then gives a complete tarball),
// and packaging refuses to run without it rather than ship a library that fails at the user's synth.
if (bundleTask) {
  project.preCompileTask.reset();
  project.compileTask.prependSpawn(bundleTask);
}
// Every jsii package carries the npm tarball (the Python wheel, the jar... embed it), so every one needs the assets.
for (const lang of ['js', 'java', 'python', 'dotnet', 'go']) {
  project.tasks.tryFind(`package:${lang}`)?.prependExec('node scripts/package-checks.js assets');
}
// The compiled JavaScript carries inline source maps that name src/*.ts: ship src/ so that stack traces with source
// maps enabled (the local runner enables them) point at files that exist in node_modules.
project.npmignore?.include('/src/');
// `npx projen build` outside CI packages every language whose toolchain is on this machine and says in one line which
// it skipped (most contributors have no .NET SDK, and jsii-pacmak would fail on it). Toolchains: scripts/package-checks.js.
const packageAll = project.tasks.tryFind('package-all');
if (packageAll) {
  packageAll.reset();
  packageAll.spawn(project.tasks.tryFind('package:js')!);
  for (const lang of ['java', 'python', 'dotnet']) {
    packageAll.spawn(project.tasks.tryFind(`package:${lang}`)!, { condition: `node scripts/package-checks.js has ${lang}` });
  }
  // Go as generated code only, as scripts/ci-bindings.sh does: pacmak's own `go mod tidy` needs the exact indirect
  // module versions from the Go module proxy, which does not serve all of them to every machine. ci-bindings.sh builds
  // and tests that code; the release workflow still runs package:go.
  packageAll.exec('jsii-pacmak -v --target go --code-only', { condition: 'node scripts/package-checks.js has go' });
  packageAll.exec('node scripts/package-checks.js skipped');
}

project.synth();
