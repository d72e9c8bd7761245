/**
 * The request shapes of CodePipeline's job-worker API that the emulator validates, copied verbatim from the AWS API
 * model (`codepipeline-2015-07-09`, operations PutJobSuccessResult and PutJobFailureResult and every shape they reach).
 * The package cannot read the model at run time, so the needed part lives here; test/local/job-api-shapes.test.ts
 * checks that these numbers agree with src/shared/limits.ts, so the emulator and the runtime cannot drift apart.
 *
 * `Time` is a timestamp shape that the trimmed model omits (epoch seconds in AWS JSON 1.1). `FailureType`'s values are
 * the runtime's own list (shared/limits.ts), which test/shared/limits.test.ts holds against the model.
 */
import { FAILURE_TYPES } from '../shared/limits';

export interface StructureShape {
  readonly type: 'structure';
  readonly required?: readonly string[];
  /** member name -> shape name */
  readonly members: Readonly<Record<string, string>>;
  readonly sensitive?: boolean;
}
export interface StringShape {
  readonly type: 'string';
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
}
export interface IntegerShape {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
}
export interface MapShape {
  readonly type: 'map';
  readonly key: string;
  readonly value: string;
}
export interface TimestampShape {
  readonly type: 'timestamp';
}
export type Shape = StructureShape | StringShape | IntegerShape | MapShape | TimestampShape;

/** The operations the emulator serves, with their input shape. */
export const JOB_API_OPERATIONS = {
  PutJobSuccessResult: 'PutJobSuccessResultInput',
  PutJobFailureResult: 'PutJobFailureResultInput',
} as const;
export type JobApiOperation = keyof typeof JOB_API_OPERATIONS;

/** `X-Amz-Target` prefix of the service (model metadata `targetPrefix`). */
export const JOB_API_TARGET_PREFIX = 'CodePipeline_20150709';

export const JOB_API_SHAPES: Readonly<Record<string, Shape>> = {
  JobId: {
    type: 'string',
    pattern: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  },
  Revision: {
    type: 'string',
    min: 1,
    max: 1500,
  },
  RevisionChangeIdentifier: {
    type: 'string',
    min: 1,
    max: 100,
  },
  Time: {
    type: 'timestamp',
  },
  RevisionSummary: {
    type: 'string',
    min: 1,
    max: 2048,
  },
  CurrentRevision: {
    type: 'structure',
    required: ['revision', 'changeIdentifier'],
    members: {
      revision: 'Revision',
      changeIdentifier: 'RevisionChangeIdentifier',
      created: 'Time',
      revisionSummary: 'RevisionSummary',
    },
  },
  ContinuationToken: {
    type: 'string',
    min: 1,
    max: 2048,
  },
  ExecutionSummary: {
    type: 'string',
    min: 1,
    max: 2048,
  },
  ExecutionId: {
    type: 'string',
    min: 1,
    max: 1500,
  },
  Percentage: {
    type: 'integer',
    min: 0,
    max: 100,
  },
  ExecutionDetails: {
    type: 'structure',
    members: {
      summary: 'ExecutionSummary',
      externalExecutionId: 'ExecutionId',
      percentComplete: 'Percentage',
    },
  },
  OutputVariablesKey: {
    type: 'string',
    pattern: '[A-Za-z0-9@\\-_]+',
  },
  OutputVariablesValue: {
    type: 'string',
  },
  OutputVariablesMap: {
    type: 'map',
    key: 'OutputVariablesKey',
    value: 'OutputVariablesValue',
  },
  PutJobSuccessResultInput: {
    type: 'structure',
    required: ['jobId'],
    members: {
      jobId: 'JobId',
      currentRevision: 'CurrentRevision',
      continuationToken: 'ContinuationToken',
      executionDetails: 'ExecutionDetails',
      outputVariables: 'OutputVariablesMap',
    },
  },
  FailureType: {
    type: 'string',
    enum: FAILURE_TYPES,
  },
  Message: {
    type: 'string',
    min: 1,
    max: 5000,
  },
  FailureDetails: {
    type: 'structure',
    required: ['type', 'message'],
    members: {
      type: 'FailureType',
      message: 'Message',
      externalExecutionId: 'ExecutionId',
    },
  },
  PutJobFailureResultInput: {
    type: 'structure',
    required: ['jobId', 'failureDetails'],
    members: {
      jobId: 'JobId',
      failureDetails: 'FailureDetails',
    },
  },
};
