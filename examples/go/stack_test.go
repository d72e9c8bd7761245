package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestTheInvokeStagePassesTheParametersAndReadsTheSourceArtifact(t *testing.T) {
	defaults := DefaultParameters()
	template := assertions.Template_FromStack(NewDeployCheckPipelineStack(awscdk.NewApp(nil), "Pipeline", defaults), nil)

	template.HasResourceProperties(jsii.String("AWS::CodePipeline::Pipeline"), &map[string]interface{}{
		"Stages": assertions.Match_ArrayWith(&[]interface{}{
			assertions.Match_ObjectLike(&map[string]interface{}{
				"Name": "DeployCheck",
				"Actions": []interface{}{
					assertions.Match_ObjectLike(&map[string]interface{}{
						"ActionTypeId":   assertions.Match_ObjectLike(&map[string]interface{}{"Provider": "Lambda"}),
						"Configuration":  map[string]interface{}{"UserParameters": assertions.Match_SerializedJson(defaults)},
						"InputArtifacts": []interface{}{map[string]interface{}{"Name": "Source"}},
						"Namespace":      "DeployCheck",
					}),
				},
			}),
		}),
	})
}

func TestTheStageProvisionsAJobFunctionOnTheNewestNodejsRuntime(t *testing.T) {
	template := assertions.Template_FromStack(NewDeployCheckPipelineStack(awscdk.NewApp(nil), "Pipeline", DefaultParameters()), nil)

	template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]interface{}{
		"Handler":       "index.handler",
		"Runtime":       "nodejs24.x",
		"Architectures": []interface{}{"arm64"},
	})
}

// jsii turns the construct's error into a Go panic carrying the message.
func synthesisError(parameters map[string]interface{}) (message string) {
	defer func() {
		if r := recover(); r != nil {
			message = fmt.Sprint(r)
		}
	}()
	NewDeployCheckPipelineStack(awscdk.NewApp(nil), "Pipeline", parameters)
	return ""
}

func TestASchemaViolationPanicsWithAMessageNamingTheField(t *testing.T) {
	message := synthesisError(map[string]interface{}{"environment": "staging", "retries": 2})

	if !strings.Contains(message, "userParameters.environment") || !strings.Contains(message, "Pipeline/DeployCheck") {
		t.Fatalf("expected an error naming Pipeline/DeployCheck and userParameters.environment, got %q", message)
	}
}

func TestValidParametersRaiseNoError(t *testing.T) {
	if message := synthesisError(DefaultParameters()); message != "" {
		t.Fatalf("expected no error, got %q", message)
	}
}
