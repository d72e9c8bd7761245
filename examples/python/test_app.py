"""Checks of the Python example through the jsii binding: what the stacks synthesize to, and how a schema violation
surfaces in Python. Run with `pytest` in this folder (scripts/ci-bindings.sh does it in a fresh venv)."""

import json
import re
from typing import Any, Dict, List

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from app import (
    DEFAULT_DEPLOY_CHECK_PARAMETERS,
    DeployCheckPipelineStack,
    WebPipelineStack,
)


def new_app(tmp_path) -> cdk.App:
    return cdk.App(outdir=str(tmp_path / "cdk.out"))


def pipeline_actions(template: Template) -> List[Dict[str, Any]]:
    pipelines = template.find_resources("AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 1
    (pipeline,) = pipelines.values()
    return [action for stage in pipeline["Properties"]["Stages"] for action in stage["Actions"]]


def lambda_actions(template: Template) -> List[Dict[str, Any]]:
    return [a for a in pipeline_actions(template) if a["ActionTypeId"]["Provider"] == "Lambda"]


def test_the_invoke_stage_passes_the_typed_parameters_as_json(tmp_path):
    template = Template.from_stack(DeployCheckPipelineStack(new_app(tmp_path), "Pipeline"))

    (action,) = lambda_actions(template)
    assert json.loads(action["Configuration"]["UserParameters"]) == DEFAULT_DEPLOY_CHECK_PARAMETERS
    assert action["Namespace"] == "DeployCheck"
    assert action["InputArtifacts"] == [{"Name": "Source"}]


def test_a_later_action_reads_the_output_variable_of_the_invoke_stage(tmp_path):
    template = Template.from_stack(DeployCheckPipelineStack(new_app(tmp_path), "Pipeline"))

    approvals = [a for a in pipeline_actions(template) if a["ActionTypeId"]["Category"] == "Approval"]
    assert approvals[0]["Configuration"]["CustomData"] == "Checked environment: #{DeployCheck.environment}"


def test_the_stage_provisions_a_job_function_on_the_newest_nodejs_runtime(tmp_path):
    template = Template.from_stack(DeployCheckPipelineStack(new_app(tmp_path), "Pipeline"))

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "index.handler", "Runtime": "nodejs24.x", "Architectures": ["arm64"]},
    )


def test_the_job_function_may_report_job_results(tmp_path):
    template = Template.from_stack(DeployCheckPipelineStack(new_app(tmp_path), "Pipeline"))

    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"],
                                "Effect": "Allow",
                                "Resource": "*",
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    "parameters, field",
    [
        ({"environment": "staging", "retries": 2}, "environment"),
        ({"environment": "prod", "retries": -1}, "retries"),
        ({"environment": "prod"}, "retries"),
    ],
)
def test_a_schema_violation_raises_a_python_exception_naming_the_field(tmp_path, parameters, field):
    app = new_app(tmp_path)

    with pytest.raises(RuntimeError) as raised:
        DeployCheckPipelineStack(app, "Pipeline", parameters=parameters)

    message = str(raised.value)
    assert re.search(rf"\b{field}\b", message), message
    assert "Pipeline/DeployCheck" in message, message  # the construct path tells where to look


def test_the_smoke_test_step_receives_the_deployed_url_as_a_pipeline_variable(tmp_path):
    app = new_app(tmp_path)
    stack = WebPipelineStack(app, "WebPipeline")
    app.synth()  # CDK Pipelines builds the pipeline at synth

    (action,) = lambda_actions(Template.from_stack(stack))
    parameters = json.loads(action["Configuration"]["UserParameters"])
    # The StackOutputReference (nested in a list) and the CfnOutput both become the same #{namespace.SiteUrl}.
    url = parameters["targets"][0]["url"]
    assert re.fullmatch(r"#\{[A-Za-z0-9@_-]+\.SiteUrl\}", url), url
    assert parameters["report"] == url
    assert parameters["targets"][0]["expectStatus"] == 403


def test_the_smoke_test_runs_after_the_stage_it_checks_was_deployed(tmp_path):
    app = new_app(tmp_path)
    stack = WebPipelineStack(app, "WebPipeline")
    app.synth()

    template = Template.from_stack(stack)
    (pipeline,) = template.find_resources("AWS::CodePipeline::Pipeline").values()
    beta = next(s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Beta")
    deploy = next(a for a in beta["Actions"] if a["ActionTypeId"]["Provider"] == "CloudFormation"
                  and a["Configuration"].get("ActionMode") == "CHANGE_SET_EXECUTE")
    smoke = next(a for a in beta["Actions"] if a["ActionTypeId"]["Provider"] == "Lambda")
    assert smoke["RunOrder"] > deploy["RunOrder"]
    # The deploy action exports the stack outputs under the namespace the smoke test refers to.
    namespace = deploy["Namespace"]
    assert f"#{{{namespace}.SiteUrl}}" in smoke["Configuration"]["UserParameters"]
