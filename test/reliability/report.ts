/**
 * Runs the reliability suites with their counts turned on (RELIABILITY_REPORT=1) and adds the counts up:
 *   npx ts-node --transpile-only --project tsconfig.dev.json test/reliability/report.ts
 * Arguments are passed on to jest (e.g. `--maxWorkers=1`). Exits non-zero when a suite fails or a crash was counted.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { COUNTS_DIR, Counts, REPORT_ENV } from './tally';

// Counts of an earlier run must not be added to this one's.
fs.rmSync(COUNTS_DIR, { recursive: true, force: true });
const jest = spawnSync('npx', ['jest', 'test/reliability', ...process.argv.slice(2)], {
  cwd: path.join(__dirname, '..', '..'),
  env: { ...process.env, [REPORT_ENV]: '1' },
  stdio: 'inherit',
});

const files = fs.existsSync(COUNTS_DIR) ? fs.readdirSync(COUNTS_DIR).filter((f) => f.endsWith('.json')) : [];
if (files.length === 0) {
  console.error(`No counts in ${COUNTS_DIR}: the reliability suites did not run (jest exited with ${jest.status ?? jest.signal})`);
  process.exit(2);
}
const total: Counts = { cases: 0, faultsInjected: 0, failuresReportedCorrectly: 0, successes: 0, crashes: 0 };
for (const file of files.sort()) {
  const counts = JSON.parse(fs.readFileSync(path.join(COUNTS_DIR, file), 'utf8')) as Counts;
  console.log(`${path.basename(file, '.json').padEnd(24)} ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const key of Object.keys(total) as Array<keyof Counts>) total[key] += counts[key];
}
console.log(`${'total'.padEnd(24)} ${Object.entries(total).map(([k, v]) => `${k}=${v}`).join(' ')}`);
process.exit(total.crashes > 0 || jest.status !== 0 ? 1 : 0);
