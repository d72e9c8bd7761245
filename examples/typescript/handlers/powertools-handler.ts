// eslint-disable-next-line import/no-extraneous-dependencies -- a dependency of the user's app, ours only for development
import { Logger } from '@aws-lambda-powertools/logger';
import { Params } from './params';
// In your app: import { jobHandler } from 'cdk-codepipeline-invoke/runtime';
import { jobHandler } from '../../../src/runtime';

const logger = new Logger({ serviceName: 'health-check' });

// The runtime's lines and job.logger's go through the Powertools Logger, with the job id as its correlation_id.
export const handler = jobHandler({ schema: Params, logger }, async (job) => {
  job.logger.info('checking', { url: job.userParameters.url });
  return { summary: 'healthy' };
});
