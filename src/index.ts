// jsii entry point: re-exports the constructs and their props only. The Lambda-side runtime lives in
// `cdk-codepipeline-invoke/runtime` and the local tooling in `cdk-codepipeline-invoke/local`; neither is exported here.
export * from './lambda-invoke-stage';
export * from './lambda-invoke-step';
export * from './pipeline-job-function';
export * from './pipeline-job-nodejs-function';
export * from './user-parameters';
export * from './user-parameters-schema';
