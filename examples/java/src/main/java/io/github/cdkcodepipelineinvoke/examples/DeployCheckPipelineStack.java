package io.github.cdkcodepipelineinvoke.examples;

import io.github.cdkcodepipelineinvoke.LambdaInvokeStage;
import io.github.cdkcodepipelineinvoke.UserParameters;
import io.github.cdkcodepipelineinvoke.UserParametersSchema;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.codepipeline.Artifact;
import software.amazon.awscdk.services.codepipeline.Pipeline;
import software.amazon.awscdk.services.codepipeline.PipelineType;
import software.amazon.awscdk.services.codepipeline.StageOptions;
import software.amazon.awscdk.services.codepipeline.actions.ManualApprovalAction;
import software.amazon.awscdk.services.codepipeline.actions.S3SourceAction;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.s3.BlockPublicAccess;
import software.amazon.awscdk.services.s3.Bucket;
import software.constructs.Construct;

/**
 * Source (S3) -> DeployCheck (Lambda, typed UserParameters checked at synth) -> Approve (shows the checked environment).
 */
public class DeployCheckPipelineStack extends Stack {
    /** The contract of the deploy check's UserParameters, as a JSON Schema. */
    public static final Map<String, Object> DEPLOY_CHECK_SCHEMA = Map.of(
            "type", "object",
            "properties", Map.of(
                    "environment", Map.of("enum", List.of("dev", "prod")),
                    "retries", Map.of("type", "integer", "minimum", 0, "maximum", 5),
                    "executionId", Map.of("type", "string")),
            "required", List.of("environment", "retries"),
            "additionalProperties", false);

    /** The parameters the pipeline passes unless told otherwise. */
    public static final Map<String, Object> DEFAULT_PARAMETERS = Map.of(
            "environment", "prod",
            "retries", 2,
            // A CodePipeline variable: substituted when the action runs; the schema accepts it where it asks for a string.
            "executionId", "#{codepipeline.PipelineExecutionId}");

    private final LambdaInvokeStage deployCheck;

    public DeployCheckPipelineStack(final Construct scope, final String id, final Map<String, Object> parameters) {
        this(scope, id, parameters, null);
    }

    public DeployCheckPipelineStack(final Construct scope, final String id, final Map<String, Object> parameters,
            final StackProps props) {
        super(scope, id, props);

        Bucket sourceBucket = Bucket.Builder.create(this, "SourceBucket")
                .versioned(true) // an S3 source action needs a versioned bucket
                .enforceSsl(true)
                .blockPublicAccess(BlockPublicAccess.BLOCK_ALL)
                .build();
        Artifact source = Artifact.artifact("Source");
        Pipeline pipeline = Pipeline.Builder.create(this, "Pipeline").pipelineType(PipelineType.V2).build();
        pipeline.addStage(StageOptions.builder()
                .stageName("Source")
                .actions(List.of(S3SourceAction.Builder.create()
                        .actionName("Fetch").bucket(sourceBucket).bucketKey("app.zip").output(source).build()))
                .build());

        // Provisions a PipelineJobFunction from code + handler and checks the parameters against the schema here.
        deployCheck = LambdaInvokeStage.Builder.create(this, "DeployCheck")
                .pipeline(pipeline)
                .stageName("DeployCheck")
                .code(Code.fromAsset("handler"))
                .handler("index.handler")
                .userParameters(UserParameters.fromObject(parameters))
                .userParametersSchema(UserParametersSchema.fromJsonSchema(DEPLOY_CHECK_SCHEMA))
                .inputs(List.of(source))
                .variablesNamespace("DeployCheck")
                .build();

        pipeline.addStage(StageOptions.builder()
                .stageName("Approve")
                .actions(List.of(ManualApprovalAction.Builder.create()
                        .actionName("Approve")
                        .additionalInformation("Checked environment: " + deployCheck.variable("environment"))
                        .build()))
                .build());
    }

    public LambdaInvokeStage getDeployCheck() {
        return deployCheck;
    }
}
