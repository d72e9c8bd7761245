package io.github.cdkcodepipelineinvoke.examples;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.App;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

class DeployCheckPipelineStackTest {
    private static Template synthesize(final Map<String, Object> parameters) {
        return Template.fromStack(new DeployCheckPipelineStack(new App(), "Pipeline", parameters));
    }

    @Test
    void theInvokeStagePassesTheParametersAndReadsTheSourceArtifact() {
        Template template = synthesize(DeployCheckPipelineStack.DEFAULT_PARAMETERS);

        template.hasResourceProperties("AWS::CodePipeline::Pipeline", Map.of(
                "Stages", Match.arrayWith(List.of(Match.objectLike(Map.of(
                        "Name", "DeployCheck",
                        "Actions", List.of(Match.objectLike(Map.of(
                                "ActionTypeId", Match.objectLike(Map.of("Provider", "Lambda")),
                                "Configuration", Match.objectLike(Map.of(
                                        "UserParameters", Match.serializedJson(
                                                DeployCheckPipelineStack.DEFAULT_PARAMETERS))),
                                "InputArtifacts", List.of(Map.of("Name", "Source")),
                                "Namespace", "DeployCheck")))))))));
    }

    @Test
    void theStageProvisionsAJobFunctionOnTheNewestNodejsRuntime() {
        Template template = synthesize(DeployCheckPipelineStack.DEFAULT_PARAMETERS);

        template.hasResourceProperties("AWS::Lambda::Function", Map.of(
                "Handler", "index.handler",
                "Runtime", "nodejs24.x",
                "Architectures", List.of("arm64")));
    }

    @Test
    void aSchemaViolationThrowsAnExceptionNamingTheField() {
        RuntimeException error = assertThrows(RuntimeException.class,
                () -> synthesize(Map.of("environment", "staging", "retries", 2)));

        assertTrue(error.getMessage().contains("userParameters.environment"), error.getMessage());
        assertTrue(error.getMessage().contains("Pipeline/DeployCheck"), error.getMessage());
    }

    @Test
    void aMissingRequiredFieldIsNamedToo() {
        RuntimeException error = assertThrows(RuntimeException.class,
                () -> synthesize(Map.of("environment", "prod")));

        assertTrue(error.getMessage().contains("retries"), error.getMessage());
    }
}
