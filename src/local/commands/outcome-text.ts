/** How `invoke` prints an outcome: JSON for machines (--json), lines for people. */
import * as fs from 'fs';
import type { RunJobOutcome } from '../run-job';

/** The outcome for machines: the design's fields plus the job id, crash and warnings. */
export function outcomeJson(outcome: RunJobOutcome): object {
  const { status, failure, outputVariables, summary, invocations, outputs, jobId, crash, warnings } = outcome;
  return { status, failure, outputVariables, summary, invocations, outputs, jobId, crash, warnings };
}

export function formatOutcome(outcome: RunJobOutcome): string {
  const invocations = `${outcome.invocations} invocation${outcome.invocations === 1 ? '' : 's'}`;
  const lines: string[] = [];
  if (outcome.status === 'Succeeded') {
    lines.push(`Job ${outcome.jobId} Succeeded after ${invocations}`);
    if (outcome.summary) lines.push(`  summary: ${outcome.summary}`);
  } else {
    lines.push(`Job ${outcome.jobId} Failed (${outcome.failure?.type}) after ${invocations}`);
    lines.push(`  message: ${outcome.failure?.message}`);
    if (outcome.crash) lines.push(`  the handler crashed (${outcome.crash.errorType}); the crash reporter failed the job`);
  }
  const variables = Object.entries(outcome.outputVariables ?? {});
  if (variables.length > 0) {
    lines.push('  output variables:');
    for (const [k, v] of variables) lines.push(`    ${k} = ${v}`);
  }
  const outputs = Object.entries(outcome.outputs);
  if (outputs.length > 0) {
    lines.push('  output artifacts:');
    for (const [name, dir] of outputs) {
      const files = countFiles(dir);
      lines.push(`    ${name} -> ${dir} (${files} ${files === 1 ? 'file' : 'files'})`);
    }
  }
  for (const warning of outcome.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

function countFiles(dir: string): number {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}
