package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	invoke "github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke-go/cdkcodepipelineinvoke"
)

// DeployCheckSchema is the contract of the deploy check's UserParameters, as a JSON Schema.
func DeployCheckSchema() map[string]interface{} {
	return map[string]interface{}{
		"type": "object",
		"properties": map[string]interface{}{
			"environment": map[string]interface{}{"enum": []interface{}{"dev", "prod"}},
			"retries":     map[string]interface{}{"type": "integer", "minimum": 0, "maximum": 5},
			"executionId": map[string]interface{}{"type": "string"},
		},
		"required":             []interface{}{"environment", "retries"},
		"additionalProperties": false,
	}
}

// DefaultParameters are what the pipeline passes to the deploy check unless told otherwise.
func DefaultParameters() map[string]interface{} {
	return map[string]interface{}{
		"environment": "prod",
		"retries":     2,
		// A CodePipeline variable: substituted when the action runs; the schema accepts it where it asks for a string.
		"executionId": "#{codepipeline.PipelineExecutionId}",
	}
}

// NewDeployCheckPipelineStack builds Source (S3) -> DeployCheck (Lambda, typed UserParameters checked at synth) ->
// Approve (shows the checked environment).
func NewDeployCheckPipelineStack(scope constructs.Construct, id string, parameters map[string]interface{}) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), nil)

	sourceBucket := awss3.NewBucket(stack, jsii.String("SourceBucket"), &awss3.BucketProps{
		Versioned:         jsii.Bool(true), // an S3 source action needs a versioned bucket
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
	})
	source := awscodepipeline.NewArtifact(jsii.String("Source"), nil)
	pipeline := awscodepipeline.NewPipeline(stack, jsii.String("Pipeline"), &awscodepipeline.PipelineProps{
		PipelineType: awscodepipeline.PipelineType_V2,
	})
	pipeline.AddStage(&awscodepipeline.StageOptions{
		StageName: jsii.String("Source"),
		Actions: &[]awscodepipeline.IAction{
			awscodepipelineactions.NewS3SourceAction(&awscodepipelineactions.S3SourceActionProps{
				ActionName: jsii.String("Fetch"),
				Bucket:     sourceBucket,
				BucketKey:  jsii.String("app.zip"),
				Output:     source,
			}),
		},
	})

	// Provisions a PipelineJobFunction from code + handler and checks the parameters against the schema here.
	schema := DeployCheckSchema()
	deployCheck := invoke.NewLambdaInvokeStage(stack, jsii.String("DeployCheck"), &invoke.LambdaInvokeStageProps{
		Pipeline:             pipeline,
		StageName:            jsii.String("DeployCheck"),
		Code:                 awslambda.Code_FromAsset(jsii.String("handler"), nil),
		Handler:              jsii.String("index.handler"),
		UserParameters:       invoke.UserParameters_FromObject(&parameters),
		UserParametersSchema: invoke.UserParametersSchema_FromJsonSchema(&schema),
		Inputs:               &[]awscodepipeline.Artifact{source},
		VariablesNamespace:   jsii.String("DeployCheck"),
	})

	pipeline.AddStage(&awscodepipeline.StageOptions{
		StageName: jsii.String("Approve"),
		Actions: &[]awscodepipeline.IAction{
			awscodepipelineactions.NewManualApprovalAction(&awscodepipelineactions.ManualApprovalActionProps{
				ActionName:            jsii.String("Approve"),
				AdditionalInformation: jsii.String(fmt.Sprintf("Checked environment: %s", *deployCheck.Variable(jsii.String("environment")))),
			}),
		},
	})
	return stack
}
