/**
 * The job function of test/integ.invoke-stage.ts: reads the file the parameters name from the source artifact (with
 * the event's artifact credentials) and publishes its content as the output variable `version`, which the integ
 * test's assertions read back from CodePipeline.
 */
import { jobHandler, JobFailedError } from '../src/runtime';

/** The UserParameters contract, shared with the construct (`UserParametersSchema.fromJsonSchema`). */
export const versionCheckSchema = {
  type: 'object',
  properties: {
    file: { type: 'string', minLength: 1 },
    prefix: { type: 'string' },
  },
  required: ['file'],
  additionalProperties: false,
};

interface VersionCheckParameters {
  readonly file: string;
  readonly prefix?: string;
}

export const handler = jobHandler<VersionCheckParameters>({ schema: versionCheckSchema }, async (job) => {
  const { file, prefix = '' } = job.userParameters;
  const version = (await job.inputArtifact().readFile(file, 'utf8')).trim();
  if (version === '') {
    throw new JobFailedError(`${file} is empty`, 'JobFailed');
  }
  return { outputVariables: { version: `${prefix}${version}` }, summary: `read version ${version} from ${file}` };
});
