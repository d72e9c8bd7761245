// In your app: import { jobHandler } from 'cdk-codepipeline-invoke/runtime';
import { Params } from './params';
import { jobHandler } from '../../../src/runtime';

// job.userParameters is typed by the schema's output: { environment: 'dev' | 'prod'; url: string; retries?: number }
export const handler = jobHandler({ schema: Params }, async (job) => {
  const { environment, url, retries = 2 } = job.userParameters;
  return { summary: `${url} checked on ${environment} with ${retries} retries` };
});
