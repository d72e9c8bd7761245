/**
 * Counts of a reliability suite: cases run, faults injected, failures reported correctly (a typed failure with a clear
 * message, recorded by the job-API emulator), crashes (an exception that escaped, or a job left unreported).
 * When RELIABILITY_REPORT=1 is set (report.ts sets it), each suite prints one summary line in afterAll and writes
 * tmp/reliability/<suite>.json, which `report.ts` adds up; ordinary test runs write nothing.
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

/** The environment variable that turns the counts on. */
export const REPORT_ENV = 'RELIABILITY_REPORT';

export class Tally implements Counts {
  cases = 0;
  faultsInjected = 0;
  failuresReportedCorrectly = 0;
  successes = 0;
  crashes = 0;

  constructor(readonly suite: string) {}

  /** Prints the summary line and stores the counts for report.ts, when the report is asked for. */
  flush(): void {
    if (process.env[REPORT_ENV] !== '1') return;
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
