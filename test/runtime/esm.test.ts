/**
 * ESM handlers (`.mjs`, and `.js` in a `"type": "module"` package) importing the package's ESM build through its
 * `exports` conditions, in plain Node.js child processes: invoked directly (jobHandler), through `runJob` (imported
 * from the ESM build of `cdk-codepipeline-invoke/local`) and through the CLI. The ESM build (scripts/build-esm.ts) is
 * installed with the package.json into a temporary node_modules, as npm installs the package.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildEsm } from '../../scripts/build-esm';
import type { JobRecord } from '../../src/local/job-api-emulator';
import { buildCli, removeCli, runCli } from '../support/cli';
import { jobEvent } from '../support/job-event';
import { useWireServers } from '../support/wire-servers';

const servers = useWireServers();
const ROOT = path.join(__dirname, '..', '..');
let dir: string;
let cli: string;

/** The handler every test runs: JSON Schema, an input artifact read, an output artifact written, in ESM. */
const HANDLER = `
import { jobHandler } from 'cdk-codepipeline-invoke/runtime';

const schema = { type: 'object', properties: { environment: { enum: ['dev', 'prod'] } }, required: ['environment'] };

export const handler = jobHandler({ schema }, async (job) => {
  const isModule = typeof require === 'undefined';
  if (job.inputArtifactNames.length === 0) return { outputVariables: { environment: job.userParameters.environment, esm: String(isModule) } };
  const app = await job.inputArtifact('Source').readFile('app.json', 'utf8');
  await job.outputArtifact('Out').uploadFiles({ 'result.txt': job.userParameters.environment + ':' + app });
  return { outputVariables: { environment: job.userParameters.environment, esm: String(isModule) }, summary: 'from ESM' };
});
`;

beforeAll(async () => {
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  dir = fs.mkdtempSync(path.join(ROOT, 'tmp', 'esm-'));
  const pkg = path.join(dir, 'node_modules', 'cdk-codepipeline-invoke');
  await buildEsm(path.join(pkg, 'lib-esm'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  // An app of its own: without it, the project's package.json would be the scope and 'cdk-codepipeline-invoke' would
  // resolve to the project itself (package self-reference) instead of the installed copy.
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'esm-app', private: true }));
  fs.writeFileSync(path.join(dir, 'handler.mjs'), HANDLER);
  fs.mkdirSync(path.join(dir, 'module-package'));
  fs.writeFileSync(path.join(dir, 'module-package', 'package.json'), JSON.stringify({ type: 'module' }));
  fs.writeFileSync(path.join(dir, 'module-package', 'handler.js'), HANDLER);
  fs.mkdirSync(path.join(dir, 'source'));
  fs.writeFileSync(path.join(dir, 'source', 'app.json'), '{"name":"app"}');
  cli = buildCli();
}, 60_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  removeCli(cli);
});

/**
 * Runs an ES module script in `dir` with Node.js; returns its last stdout line parsed as JSON. Asynchronous: the
 * job-API emulator the script reports to runs in this process.
 */
async function runModule(script: string, env: Record<string, string> = {}): Promise<any> {
  const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, script);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [file], { cwd: dir, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env }, timeout: 60_000 }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    ),
  );
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test.each(['handler.mjs', 'module-package/handler.js'])('an ESM handler (%s) built with jobHandler reports its job when invoked', async (file) => {
  const event = jobEvent({ userParameters: '{"environment":"prod"}' });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const out = await runModule(`
    import { handler } from './${file}';
    await handler(${JSON.stringify(event)}, { awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60000 });
    console.log(JSON.stringify({ done: true }));
  `);
  expect(out).toEqual({ done: true });
  const job = servers.jobApi.job(jobId) as JobRecord;
  expect(job.status).toBe('Succeeded');
  expect(job.results[0].outputVariables).toEqual({ environment: 'prod', esm: 'true' });
});

test('an ESM handler with bad UserParameters fails its job naming the field (the JSON Schema checker loads in ESM)', async () => {
  const event = jobEvent({ userParameters: '{"environment":"test"}' });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  await runModule(`
    import { handler } from './handler.mjs';
    await handler(${JSON.stringify(event)});
    console.log('{}');
  `);
  const job = servers.jobApi.job(jobId) as JobRecord;
  expect(job.results[0].failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/^UserParameters: environment: must be one of/) });
});

test.each(['handler.mjs', 'module-package/handler.js'])(
  'runJob from the ESM build of cdk-codepipeline-invoke/local runs %s through a whole job, artifacts included',
  async (file) => {
    const outcome = await runModule(`
      import * as fs from 'fs';
      import * as path from 'path';
      import { runJob } from 'cdk-codepipeline-invoke/local';
      const outcome = await runJob({ handler: './${file}#handler', userParameters: { environment: 'dev' }, inputs: { Source: './source' }, outputs: ['Out'] });
      const result = fs.readFileSync(path.join(outcome.outputs.Out, 'result.txt'), 'utf8');
      console.log(JSON.stringify({ status: outcome.status, outputVariables: outcome.outputVariables, result }));
    `);
    expect(outcome).toEqual({ status: 'Succeeded', outputVariables: { environment: 'dev', esm: 'true' }, result: 'dev:{"name":"app"}' });
  },
);

test.each(['handler.mjs', 'module-package/handler.js'])('the CLI invokes the ESM handler %s through a whole job', (file) => {
  const result = runCli(cli, ['invoke', '--handler', `${file}#handler`, '--input', 'Source=./source', '--output', 'Out', '--user-parameters', '{"environment":"prod"}', '--json'], {
    cwd: dir,
  });
  expect(result.code).toBe(0);
  const outcome = JSON.parse(result.stdout);
  expect(outcome).toMatchObject({ status: 'Succeeded', outputVariables: { environment: 'prod', esm: 'true' } });
});
