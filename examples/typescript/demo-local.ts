/**
 * `npx projen demo`, second half: runs the example handler through a whole CodePipeline job on this machine.
 *
 * It reads the synthesized example app (the cloud assembly, as `cdk-codepipeline-invoke generate-event --app` does),
 * prints the event the ReleaseCheck stage would receive, then runs ./handler.ts with `runJob` against a real input
 * folder: a job-API emulator and an S3 server on 127.0.0.1, the handler's code unchanged. It prints the outcome: the
 * status, the output variables and the output files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
// In your app: import { buildJobEvent, findInvokeActions, runJob, selectInvokeAction } from 'cdk-codepipeline-invoke/local';
import { buildJobEvent, findInvokeActions, runJob, selectInvokeAction } from '../../src/local';
import type { RunJobOutcome } from '../../src/local';
import { printDemo, synthesizeExample, type SynthesizedExample } from './demo';
import { handler } from './handler';

const STAGE = 'ReleaseCheck';
/** Stands in for the pipeline's artifact key (its ARN is known only after deploy): outputs are then written with SSE-KMS. */
const LOCAL_KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000';

/** The source a pipeline run would hand the stage: what the S3 source action's app.zip contains. */
export function writeSampleSource(dir: string = fs.mkdtempSync(path.join(os.tmpdir(), 'release-source-'))): string {
  fs.writeFileSync(path.join(dir, 'app.json'), `${JSON.stringify({ name: 'shop', version: '1.4.2' }, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>shop</title>\n');
  return dir;
}

/** Runs the ReleaseCheck stage's handler through a local job and prints the event and the outcome. */
export async function runLocalDemo(example: SynthesizedExample, write: (line: string) => void = console.log): Promise<RunJobOutcome> {
  const action = selectInvokeAction(findInvokeActions(example.assemblyDir), { stage: STAGE });
  const source = writeSampleSource();

  write(`Event the ${STAGE} stage would receive (cdk-codepipeline-invoke generate-event --app ${path.relative(process.cwd(), example.assemblyDir)} --stage ${STAGE}):`);
  const event = buildJobEvent({
    functionName: action.functionName,
    userParameters: action.userParameters,
    inputArtifacts: action.inputArtifacts,
    outputArtifacts: action.outputArtifacts,
    bucketName: action.artifactBucket,
    encryptionKey: action.encryptionKey,
    accountId: action.account,
  });
  JSON.stringify(event, null, 2)
    .split('\n')
    .forEach((line) => write(`  ${line}`));
  if (action.placeholders.length > 0) write(`  (known only after deploy: ${action.placeholders.join(', ')})`);
  write('');

  write(`Running examples/typescript/handler.ts through a local job (input Source = ${source}):`);
  if (action.encryptionKey !== undefined) write(`  (the artifact key is ${LOCAL_KMS_KEY} here)`);
  const outcome = await runJob({
    handler,
    functionName: functionNameOf(action.functionName),
    userParameters: action.userParameters,
    inputs: { Source: source },
    outputs: [...action.outputArtifacts],
    encryptionKey: action.encryptionKey === undefined ? undefined : LOCAL_KMS_KEY,
  });
  write('');
  printOutcome(outcome, write);
  return outcome;
}

/** `<ReleasePipeline/ReleaseCheckFunction.Ref>` -> `ReleaseCheckFunction`: a name the local Lambda context can show. */
function functionNameOf(resolved: string): string {
  const match = /^<(?:.*\/)?([^/<>.]+)\.Ref>$/.exec(resolved);
  return match ? match[1] : resolved;
}

function printOutcome(outcome: RunJobOutcome, write: (line: string) => void): void {
  write(`Job ${outcome.status} after ${outcome.invocations} invocation${outcome.invocations === 1 ? '' : 's'}`);
  if (outcome.summary) write(`  summary: ${outcome.summary}`);
  if (outcome.failure) write(`  failure (${outcome.failure.type}): ${outcome.failure.message}`);
  for (const [name, value] of Object.entries(outcome.outputVariables ?? {})) write(`  output variable ${name} = ${value}   (#{${STAGE}.${name}} for later actions)`);
  for (const [artifact, dir] of Object.entries(outcome.outputs)) {
    for (const file of fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())) {
      const full = path.join(file.parentPath, file.name);
      write(`  output file ${artifact}/${path.relative(dir, full)}:`);
      fs.readFileSync(full, 'utf8')
        .trimEnd()
        .split('\n')
        .forEach((line) => write(`    ${line}`));
    }
  }
  for (const warning of outcome.warnings) write(`  warning: ${warning}`);
}

if (require.main === module) {
  const example = synthesizeExample();
  printDemo(example);
  console.log('');
  runLocalDemo(example).then(
    (outcome) => {
      process.exitCode = outcome.status === 'Succeeded' ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
