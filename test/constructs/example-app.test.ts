import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeGrants, describeStages, describeUserParameters, printDemo, SynthesizedExample, synthesizeExample } from '../../examples/typescript/demo';

/** Asset hashes change with every change of bundled code; the snapshot is about the template's shape. */
function withoutAssetHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

let example: SynthesizedExample;

beforeAll(() => {
  example = synthesizeExample(fs.mkdtempSync(path.join(os.tmpdir(), 'example-app-')));
});

test('the example app synthesizes to the recorded template (asset hashes stripped)', () => {
  expect(withoutAssetHashes(example.template)).toMatchSnapshot();
});

test('the demo lists the three stages, with the invoke stage wired to its artifacts and namespace', () => {
  expect(describeStages(example.template)).toEqual([
    '1. Source / Fetch: Source/S3, out: Source',
    '2. ReleaseCheck / Invoke: Invoke/Lambda, function <ReleasePipeline/ReleaseCheckFunction>, in: Source, out: Report, variables: #{ReleaseCheck.*}',
    '3. Approve / Approve: Approval/Manual',
  ]);
});

test('the demo shows the rendered UserParameters', () => {
  expect(describeUserParameters(example.template)).toEqual([
    {
      stage: 'ReleaseCheck',
      action: 'Invoke',
      userParameters: '{"environment":"prod","manifest":"app.json","requiredFiles":["index.html"],"executionId":"#{codepipeline.PipelineExecutionId}"}',
    },
  ]);
});

test('the demo shows the job-result grant of the function and the failure grant of the crash reporter', () => {
  const grants = describeGrants(example.template).join('\n');
  expect(grants).toMatch(/<ReleasePipeline\/ReleaseCheckFunctionServiceRole>:\n(.*\n)*\s+codepipeline:PutJobSuccessResult, codepipeline:PutJobFailureResult on \*/);
  expect(grants).toMatch(
    /<ReleasePipeline\/CodePipelineInvokeCrashReporter\/FunctionServiceRole>:\n\s+logs:CreateLogStream, logs:PutLogEvents on <ReleasePipeline\/CodePipelineInvokeCrashReporter\/LogGroup.Arn>\n\s+codepipeline:PutJobFailureResult on \*\n/,
  );
});

test('the later stage reads the output variable of the invoke stage', () => {
  const pipeline = Object.values(example.template.Resources).find((r) => r.Type === 'AWS::CodePipeline::Pipeline')!;
  const approve = pipeline.Properties.Stages[2].Actions[0];
  expect(approve.Configuration.CustomData).toBe('Release #{ReleaseCheck.version} passed its checks.');
});

test('printDemo writes the three sections', () => {
  const lines: string[] = [];
  printDemo(example, (line) => lines.push(line));
  expect(lines.filter((line) => /^[A-Z]/.test(line)).map((line) => line.replace(/ into .*/, ''))).toEqual([
    'Synthesized ReleasePipeline',
    'Stages:',
    'UserParameters (checked against the schema at synth):',
    'Grants:',
  ]);
});
