/**
 * A post-deployment smoke test: requests the URL of the stage just deployed (a stack output the pipeline resolves into
 * the UserParameters) and fails the job when it does not answer as expected.
 */
// In your app: import { jobHandler, JobFailedError } from 'cdk-codepipeline-invoke/runtime';
import { jobHandler, JobFailedError } from '../../src/runtime';
import { SmokeTestParameters, smokeTestSchema } from './schemas';

const REQUEST_TIMEOUT_MS = 10_000;
const PAUSE_BETWEEN_ATTEMPTS_MS = 5_000;

export const handler = jobHandler<SmokeTestParameters>({ schema: smokeTestSchema }, async (job) => {
  const { url, expectStatus, expectText, attempts } = job.userParameters;
  let problem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    problem = await check(url, expectStatus, expectText);
    if (problem === '') {
      return { outputVariables: { checkedUrl: url }, summary: `GET ${url}: ${expectStatus} after ${attempt} attempt(s)` };
    }
    job.logger.info('smoke test attempt failed', { attempt, problem });
    if (attempt < attempts) {
      await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_ATTEMPTS_MS));
    }
  }
  throw new JobFailedError(`GET ${url}: ${problem} (${attempts} attempts)`, 'JobFailed');
});

/** '' when the URL answers as expected, otherwise what was wrong. */
async function check(url: string, expectStatus: number, expectText: string | undefined): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await response.text();
    if (response.status !== expectStatus) {
      return `status ${response.status}, expected ${expectStatus}`;
    }
    if (expectText !== undefined && !body.includes(expectText)) {
      return `the body does not contain ${JSON.stringify(expectText)}`;
    }
    return '';
  } catch (e) {
    return `request failed: ${(e as Error).message}`;
  }
}
