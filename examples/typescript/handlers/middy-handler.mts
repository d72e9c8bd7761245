import { Logger } from '@aws-lambda-powertools/logger';
import { search } from '@aws-lambda-powertools/logger/correlationId';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { Params } from './params.js';
// In your app: import { codePipelineJob, JobContext } from 'cdk-codepipeline-invoke/runtime';
import { codePipelineJob, JobContext } from '../../../src/runtime/index.js';

const logger = new Logger({ serviceName: 'health-check', correlationIdSearchFn: search });

// codePipelineJob() parses the job, checks the parameters and reports what the handler returns or throws, as
// jobHandler does; Powertools finds the job id for its correlation_id at '"CodePipeline.job".id'.
export const handler = middy<unknown, unknown, Error, Context & JobContext<z.infer<typeof Params>>>()
  .use(injectLambdaContext(logger, { correlationIdPath: '"CodePipeline.job".id' }))
  .use(codePipelineJob({ schema: Params, logger }))
  .handler(async (_event, { job }) => {
    logger.info('checking', { url: job.userParameters.url });
    return { summary: `healthy on ${job.userParameters.environment}` };
  });
