#!/usr/bin/env bash
# Checks the synthesized CloudFormation templates of every example app and of the integ test snapshot:
#   cfn-lint (PyPI, installed into tmp/ci-venv)  -> 0 errors (warnings are printed)
#   cdk-nag AwsSolutions (scripts/ci-nag.ts)      -> 0 unsuppressed errors on the library's resources
#
# Synthesizes the TypeScript examples (examples/typescript, examples/pipelines, examples/cross-account) itself. The Python, Java and Go
# examples are synthesized by scripts/ci-bindings.sh: run it first, or set TEMPLATES_SKIP_BINDINGS=1 to check only the
# TypeScript examples and the integ snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 NODE_NO_WARNINGS=1
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true npm_config_update_notifier=false
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true

step() {
  local name=$1; shift
  local start=$SECONDS
  echo "::: templates: ${name}"
  "$@"
  echo "::: templates: ${name} took $((SECONDS - start)) s"
}

TS_NODE=(npx ts-node --transpile-only -P "$ROOT/tsconfig.dev.json")
ASSEMBLIES=("$ROOT/examples/typescript/cdk.out" "$ROOT/examples/pipelines/cdk.out" "$ROOT/examples/cross-account/cdk.out")
if [ "${TEMPLATES_SKIP_BINDINGS:-}" != 1 ]; then
  ASSEMBLIES+=("$ROOT/examples/python/cdk.out" "$ROOT/examples/java/cdk.out" "$ROOT/examples/go/cdk.out")
fi
ASSEMBLIES+=("$ROOT/test/integ.invoke-stage.ts.snapshot" "$ROOT/test/integ.cross-account.ts.snapshot")

synth_typescript_examples() {
  # The library's own Lambda asset (assets/crash-reporter.lambda) is built, not committed.
  npx projen bundle
  # `new App()` writes to CDK_OUTDIR, as under `cdk synth`.
  rm -rf examples/typescript/cdk.out examples/pipelines/cdk.out examples/cross-account/cdk.out
  CDK_OUTDIR="$ROOT/examples/typescript/cdk.out" "${TS_NODE[@]}" examples/typescript/app.ts
  CDK_OUTDIR="$ROOT/examples/pipelines/cdk.out" "${TS_NODE[@]}" examples/pipelines/main.ts
  CDK_OUTDIR="$ROOT/examples/cross-account/cdk.out" "${TS_NODE[@]}" examples/cross-account/main.ts
}

check_assemblies_exist() {
  local missing=0
  for dir in "${ASSEMBLIES[@]}"; do
    if [ ! -f "$dir/manifest.json" ]; then
      echo "missing cloud assembly: ${dir#"$ROOT"/} (the Python/Java/Go ones come from scripts/ci-bindings.sh)" >&2
      missing=1
    fi
  done
  return $missing
}

install_cfn_lint() {
  rm -rf tmp/ci-venv
  python3 -m venv tmp/ci-venv
  tmp/ci-venv/bin/pip install --quiet 'cfn-lint>=1.40,<2'
  tmp/ci-venv/bin/cfn-lint --version
}

# One finding is allowed, by its exact text: E3703 "Prefer using Fn::Sub over Fn::Join with an empty delimiter" on the
# RoleArn of the CloudFormation deploy actions that CDK Pipelines (aws-cdk-lib) writes as Fn::Join. It is style advice
# about aws-cdk-lib's own rendering of a valid ARN, not an error in the template, and the template is not ours to write.
CFN_LINT_ALLOWED=':E3703:Prefer using Fn::Sub over Fn::Join with an empty delimiter$'

run_cfn_lint() {
  local templates=()
  for dir in "${ASSEMBLIES[@]}"; do
    while IFS= read -r t; do templates+=("$t"); done < <(find "$dir" -name '*.template.json' | sort)
  done
  echo "cfn-lint on ${#templates[@]} templates"
  local rc=0 output
  output=$(tmp/ci-venv/bin/cfn-lint --format parseable -- "${templates[@]}") || rc=$?
  [ -n "$output" ] && echo "$output"
  # cfn-lint's exit code is a bit mask: 1 = it could not run, 2 = errors, 4 = warnings, 8 = informational.
  if (( rc & 1 )); then
    echo "cfn-lint could not run (exit code $rc)" >&2
    return 1
  fi
  local errors allowed
  errors=$(grep -E ':E[0-9]+:' <<<"$output" | grep -cvE "$CFN_LINT_ALLOWED" || true)
  allowed=$(grep -cE "$CFN_LINT_ALLOWED" <<<"$output" || true)
  echo "cfn-lint: ${errors} errors, ${allowed} allowed (E3703 Fn::Join advice on CDK Pipelines' RoleArn), $(grep -cE ':W[0-9]+:' <<<"$output" || true) warnings"
  [ "$errors" -eq 0 ]
}

run_cdk_nag() {
  "${TS_NODE[@]}" scripts/ci-nag.ts "${ASSEMBLIES[@]}"
}

step "synthesize the TypeScript examples" synth_typescript_examples
check_assemblies_exist
step "install cfn-lint" install_cfn_lint
step "cfn-lint" run_cfn_lint
step "cdk-nag AwsSolutions" run_cdk_nag
