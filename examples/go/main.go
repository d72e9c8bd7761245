// A Go CDK app with a Lambda invoke stage from cdk-codepipeline-invoke. `go run .` (or `cdk synth`) synthesizes it.
package main

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()

	props := &awscdk.AppProps{}
	// `cdk synth` tells the app where to write (CDK_OUTDIR); `go run .` writes ./cdk.out.
	if os.Getenv("CDK_OUTDIR") == "" {
		props.Outdir = jsii.String("cdk.out")
	}
	app := awscdk.NewApp(props)
	NewDeployCheckPipelineStack(app, "DeployCheckPipeline", DefaultParameters())
	app.Synth(nil)
}
