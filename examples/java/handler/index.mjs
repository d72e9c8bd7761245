// The job function of the Java example: checks the deployment parameters CodePipeline passes in UserParameters
// and reports the job's result. A TypeScript project would use `jobHandler` from 'cdk-codepipeline-invoke/runtime'
// (typed parameters, artifacts, schema checks); this plain module keeps the Java example free of a Node.js build.
// The AWS SDK v3 ships with Lambda's Node.js runtimes, so the asset is this one file.
import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';

const codepipeline = new CodePipelineClient({});

export async function handler(event) {
  const job = event['CodePipeline.job'];
  try {
    const params = JSON.parse(job.data.actionConfiguration.configuration.UserParameters ?? '{}');
    await codepipeline.send(new PutJobSuccessResultCommand({
      jobId: job.id,
      // Later actions read it as #{DeployCheck.environment}.
      outputVariables: { environment: String(params.environment) },
      executionDetails: { summary: `checked ${params.environment} (retries: ${params.retries})` },
    }));
  } catch (err) {
    // Never log the event: it carries the artifact credentials.
    await codepipeline.send(new PutJobFailureResultCommand({
      jobId: job.id,
      failureDetails: { type: 'JobFailed', message: String(err.message ?? err).slice(0, 5000) },
    }));
  }
}
