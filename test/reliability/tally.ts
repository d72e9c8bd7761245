/**
 * Counts of a reliability suite: cases run, faults injected, failures reported correctly (a typed failure with a clear
 * message, recorded by the job-API emulator), crashes (an exception that escaped, or a job left unreported).
 * Each suite prints one summary line in afterAll and writes tmp/reliability/<suite>.json; `report.ts` adds them up.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface Counts {
  cases: number;
  faultsInjected: number;
  failuresReportedCorrectly: number;
  successes: number;
  crashes: number;
}

export const COUNTS_DIR = path.join(__dirname, '..', '..', 'tmp', 'reliability');

export class Tally implements Counts {
  cases = 0;
  faultsInjected = 0;
  failuresReportedCorrectly = 0;
  successes = 0;
  crashes = 0;

  constructor(readonly suite: string) {}

  /** Prints the summary line and stores the counts for report.ts. */
  flush(): void {
    const counts: Counts = {
      cases: this.cases,
      faultsInjected: this.faultsInjected,
      failuresReportedCorrectly: this.failuresReportedCorrectly,
      successes: this.successes,
      crashes: this.crashes,
    };
    fs.mkdirSync(COUNTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(COUNTS_DIR, `${this.suite}.json`), JSON.stringify(counts));
    // eslint-disable-next-line no-console
    console.log(`RELIABILITY ${this.suite}: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
}
