module github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke/examples/go

go 1.25

require (
	github.com/aws/aws-cdk-go/awscdk/v2 v2.257.0
	github.com/aws/constructs-go/constructs/v10 v10.5.1
	github.com/aws/jsii-runtime-go v1.140.0
	github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke-go/cdkcodepipelineinvoke v0.0.0
)

// The module jsii-pacmak generated from this repository (scripts/ci-bindings.sh writes it). In your own app, drop
// this line: the module comes from the Go proxy.
replace github.com/cdk-codepipeline-invoke/cdk-codepipeline-invoke-go/cdkcodepipelineinvoke => ../../dist/go/cdkcodepipelineinvoke
