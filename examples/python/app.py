"""A Python CDK app that runs Lambda functions as CodePipeline actions with cdk-codepipeline-invoke.

Two stacks:

- ``DeployCheckPipeline``: a ``codepipeline.Pipeline`` (S3 source) with a ``LambdaInvokeStage`` whose typed
  UserParameters are checked against a JSON Schema when the app is synthesized, and whose output variable is shown
  by a later approval action.
- ``WebPipeline``: a CDK Pipelines app; after the ``Beta`` stage deploys, a ``LambdaInvokeStep`` smoke-tests the URL
  the stage just deployed (a stack output that CodePipeline substitutes into the UserParameters).

Synthesize with ``cdk synth`` (cdk.json runs this file) or ``python3 app.py`` (writes ./cdk.out).
"""

import os
from pathlib import Path
from typing import Any, Mapping, Optional

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from cdk_codepipeline_invoke import (
    LambdaInvokeStage,
    LambdaInvokeStep,
    PipelineJobFunction,
    UserParameters,
    UserParametersSchema,
)

HERE = Path(__file__).resolve().parent
HANDLER_DIR = str(HERE / "handler")

# The contract of the deploy check's UserParameters. The same literal can be given to the handler's `jobHandler`
# (TypeScript) so that synth and run time check the same thing.
DEPLOY_CHECK_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "environment": {"enum": ["dev", "prod"]},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5},
        "executionId": {"type": "string"},
    },
    "required": ["environment", "retries"],
    "additionalProperties": False,
}

SMOKE_TEST_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "targets": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "expectStatus": {"type": "integer", "minimum": 100, "maximum": 599},
                },
                "required": ["url", "expectStatus"],
            },
        },
        "report": {"type": "string"},
    },
    "required": ["targets"],
}

DEFAULT_DEPLOY_CHECK_PARAMETERS: Mapping[str, Any] = {
    "environment": "prod",
    "retries": 2,
    # A CodePipeline variable: substituted when the action runs, accepted by the schema wherever it asks for a string.
    "executionId": "#{codepipeline.PipelineExecutionId}",
}


class DeployCheckPipelineStack(cdk.Stack):
    """Source (S3) -> DeployCheck (Lambda, typed UserParameters) -> Approve (shows the checked environment)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameters: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        source_bucket = s3.Bucket(
            self,
            "SourceBucket",
            versioned=True,  # an S3 source action needs a versioned bucket
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        )
        source = codepipeline.Artifact("Source")
        pipeline = codepipeline.Pipeline(self, "Pipeline", pipeline_type=codepipeline.PipelineType.V2)
        pipeline.add_stage(
            stage_name="Source",
            actions=[
                actions.S3SourceAction(
                    action_name="Fetch", bucket=source_bucket, bucket_key="app.zip", output=source
                )
            ],
        )

        # The stage provisions a PipelineJobFunction (newest Node.js runtime, arm64, job-result grants, crash
        # reporting) from the code and handler, and checks the parameters against the schema right here.
        self.deploy_check = LambdaInvokeStage(
            self,
            "DeployCheck",
            pipeline=pipeline,
            stage_name="DeployCheck",
            code=lambda_.Code.from_asset(HANDLER_DIR),
            handler="index.handler",
            user_parameters=UserParameters.from_object(dict(parameters or DEFAULT_DEPLOY_CHECK_PARAMETERS)),
            user_parameters_schema=UserParametersSchema.from_json_schema(dict(DEPLOY_CHECK_SCHEMA)),
            inputs=[source],
            variables_namespace="DeployCheck",
        )
        pipeline.add_stage(
            stage_name="Approve",
            actions=[
                actions.ManualApprovalAction(
                    action_name="Approve",
                    additional_information=f"Checked environment: {self.deploy_check.variable('environment')}",
                )
            ],
        )


class WebStage(cdk.Stage):
    """The application CDK Pipelines deploys: a function with a URL, exported as the stack output SiteUrl."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stack = cdk.Stack(self, "Web")
        site = lambda_.Function(
            stack,
            "Site",
            runtime=lambda_.Runtime.NODEJS_24_X,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(HANDLER_DIR),
        )
        url = site.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        self.site_url = cdk.CfnOutput(stack, "SiteUrl", value=url.url)


class WebPipelineStack(cdk.Stack):
    """CDK Pipelines: Synth -> Beta (deploy, then a LambdaInvokeStep smoke test of the deployed URL)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        source_bucket = s3.Bucket(
            self,
            "SourceBucket",
            versioned=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            synth=pipelines.ShellStep(
                "Synth",
                input=pipelines.CodePipelineSource.s3(source_bucket, "source.zip"),
                commands=["pip install -r requirements.txt", "npx cdk synth"],
            ),
        )

        # The job function lives in the pipeline's own stack: the pipeline must be able to invoke it before any
        # stage exists.
        smoke_test = PipelineJobFunction(
            self,
            "SmokeTest",
            code=lambda_.Code.from_asset(HANDLER_DIR),
            handler="index.handler",
            user_parameters_schema=UserParametersSchema.from_json_schema(dict(SMOKE_TEST_SCHEMA)),
        )

        beta = WebStage(self, "Beta")
        self.pipeline.add_stage(
            beta,
            post=[
                LambdaInvokeStep(
                    "SmokeTest",
                    function=smoke_test,
                    user_parameters=UserParameters.from_object(
                        {
                            # A StackOutputReference and a CfnOutput, nested: both become #{<namespace>.SiteUrl}
                            # references that CodePipeline substitutes with the deployed URL.
                            "targets": [
                                {
                                    "url": pipelines.StackOutputReference.from_cfn_output(beta.site_url),
                                    "expectStatus": 403,  # the URL requires IAM auth: anonymous requests are refused
                                }
                            ],
                            "report": beta.site_url,
                        }
                    ),
                )
            ],
        )


def build_app(app: cdk.App) -> cdk.App:
    """Adds the example's stacks to `app`."""
    DeployCheckPipelineStack(app, "DeployCheckPipeline")
    WebPipelineStack(app, "WebPipeline")
    return app


def main() -> None:
    # `cdk synth` tells the app where to write (CDK_OUTDIR); `python3 app.py` writes ./cdk.out.
    outdir = None if "CDK_OUTDIR" in os.environ else str(HERE / "cdk.out")
    build_app(cdk.App(outdir=outdir)).synth()


if __name__ == "__main__":
    main()
