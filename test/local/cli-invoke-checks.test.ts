/** `invoke` refuses bad usage clearly (exit 2) before running anything, and takes an event or a schema. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildCli, removeCli, runCli } from '../support/cli';

const NODE_HANDLER = `${path.join(__dirname, '..', 'fixtures', 'guide-handlers', 'node', 'index.js')}#handler`;
let cli: string;

beforeAll(() => {
  cli = buildCli();
});
afterAll(() => removeCli(cli));

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-checks-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

test('a --timeout beyond Lambda\'s 900 seconds is a usage error, not a timer overflow', () => {
  const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--timeout', '3000000']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/--timeout 3000000: a Lambda function runs at most 900 seconds/);
});

test('--user-parameters @folder names the folder instead of EISDIR', () => {
  const dir = folder({});
  const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--user-parameters', `@${dir}`]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`${dir} is a folder; give a file`);
  expect(result.stderr).not.toMatch(/EISDIR/);
});

test('a handler file with a syntax error is reported with its file and line', () => {
  const dir = folder({ 'broken.js': 'exports.handler = async () => {\n  return (\n};\n' });
  const result = runCli(cli, ['invoke', '--handler', `${path.join(dir, 'broken.js')}#handler`]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`${path.join(dir, 'broken.js')}, line 3: SyntaxError`);
});

test('an unknown option gets a message whose quotes balance', () => {
  const result = runCli(cli, ['invoke', '--bogus']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('Unknown option \'--bogus\' (a value starting with \'-\' goes after \'--\', as in: -- "--bogus")');
});

describe('--schema', () => {
  const schema = () => {
    const dir = folder({
      'schema.json': JSON.stringify({ type: 'object', properties: { expectBytes: { type: 'integer', minimum: 1 } }, required: ['expectBytes'], additionalProperties: false }),
    });
    return path.join(dir, 'schema.json');
  };

  test('UserParameters that do not match are refused with each violation, before anything runs', () => {
    const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--user-parameters', '{"expectBytes":0,"extra":true}', '--schema', schema()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the UserParameters do not match .*schema\.json:/);
    expect(result.stderr).toMatch(/#\/expectBytes: .*1/);
    expect(result.stderr).toMatch(/extra/);
  });

  test('UserParameters that match run the job', () => {
    const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--user-parameters', '{"expectBytes":1}', '--schema', schema(), '--input', `Source=${folder({ 'a.txt': 'abc' })}`, '--json']);
    expect(result.code).toBe(0);
  });
});

test('--event runs the handler on a generated event: its UserParameters and output names', () => {
  const generated = runCli(cli, ['generate-event', '--user-parameters', '{"expectBytes":1000000}', '--input', 'Source', '--output', 'Report']);
  expect(generated.code).toBe(0);
  const eventFile = path.join(folder({ 'event.json': generated.stdout }), 'event.json');
  const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--event', eventFile, '--input', `Source=${folder({ 'a.txt': 'small' })}`, '--json']);
  expect(result.code).toBe(1);
  expect(JSON.parse(result.stdout)).toMatchObject({ status: 'Failed', failure: { message: expect.stringMatching(/expected at least 1000000/) } });
});
