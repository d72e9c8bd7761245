/**
 * Adds up the counts the reliability suites wrote (run them first: `npx jest test/reliability`):
 *   npx ts-node --transpile-only --project tsconfig.dev.json test/reliability/report.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import { COUNTS_DIR, Counts } from './tally';

const files = fs.existsSync(COUNTS_DIR) ? fs.readdirSync(COUNTS_DIR).filter((f) => f.endsWith('.json')) : [];
if (files.length === 0) {
  console.error(`No counts in ${COUNTS_DIR}: run \`npx jest test/reliability\` first`);
  process.exit(2);
}
const total: Counts = { cases: 0, faultsInjected: 0, failuresReportedCorrectly: 0, successes: 0, crashes: 0 };
for (const file of files.sort()) {
  const counts = JSON.parse(fs.readFileSync(path.join(COUNTS_DIR, file), 'utf8')) as Counts;
  console.log(`${path.basename(file, '.json').padEnd(24)} ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const key of Object.keys(total) as Array<keyof Counts>) total[key] += counts[key];
}
console.log(`${'total'.padEnd(24)} ${Object.entries(total).map(([k, v]) => `${k}=${v}`).join(' ')}`);
process.exit(total.crashes > 0 ? 1 : 0);
