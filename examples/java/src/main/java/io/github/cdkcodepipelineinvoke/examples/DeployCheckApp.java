package io.github.cdkcodepipelineinvoke.examples;

import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;

/** Synthesizes the example: `cdk synth` (cdk.json) or `mvn compile exec:java`, which writes ./cdk.out. */
public final class DeployCheckApp {
    private DeployCheckApp() {
    }

    public static void main(final String[] args) {
        // `cdk synth` tells the app where to write (CDK_OUTDIR); a plain run writes ./cdk.out.
        App app = System.getenv("CDK_OUTDIR") != null
                ? new App()
                : new App(AppProps.builder().outdir("cdk.out").build());
        new DeployCheckPipelineStack(app, "DeployCheckPipeline", DeployCheckPipelineStack.DEFAULT_PARAMETERS);
        app.synth();
    }
}
