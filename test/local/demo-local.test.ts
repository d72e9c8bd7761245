/** The local half of `npx projen demo`: the example handler runs through a local job and the job succeeds. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesizeExample } from '../../examples/typescript/demo';
import { runLocalDemo } from '../../examples/typescript/demo-local';

test('the demo prints the stage event and a Succeeded outcome with the version variable and the report file', async () => {
  const example = synthesizeExample(fs.mkdtempSync(path.join(os.tmpdir(), 'demo-local-')));
  const lines: string[] = [];
  const outcome = await runLocalDemo(example, (line) => lines.push(line));
  const text = lines.join('\n');
  expect(outcome.status).toBe('Succeeded');
  expect(text).toMatch(/Event the ReleaseCheck stage would receive/);
  expect(text).toMatch(/"UserParameters": "\{\\"environment\\":\\"prod\\",\\"manifest\\":\\"app.json\\"/);
  expect(text).toMatch(/Job Succeeded after 2 invocations/);
  expect(text).toMatch(/output variable version = 1\.4\.2/);
  expect(text).toMatch(/output file Report\/report\.json:\n {4}\{\n {6}"version": "1\.4\.2"/);
  expect(outcome.warnings).toEqual([]);
});
