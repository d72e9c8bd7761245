#!/usr/bin/env bash
# Compiles the README examples (jsii-rosetta --strict), builds the Python, Java and Go packages with jsii-pacmak and
# runs each language's example app against them:
#   python: a fresh venv with the wheel + aws-cdk-lib from PyPI; examples/python/app.py synthesizes, pytest checks it
#   java:   Maven compiles examples/java against the built jar (aws-cdk-lib from Maven Central), tests it, synthesizes
#   go:     examples/go builds against the generated module (go.mod `replace`), `go test`s it, and synthesizes
# .NET is configured for release but not built here: this machine has no .NET SDK.
#
# Usage: scripts/ci-bindings.sh [python] [java] [go]     (default: all three)
# Env:   SKIP_COMPILE=1  reuse lib/, assets/ and .jsii from an earlier `npx projen compile` in this tree
#        WITH_JS=1       also build the npm tarball (dist/js) in the same jsii-pacmak run: one `npm pack` instead of
#                        two when CI would otherwise run `npx projen package:js` separately
#
# Installs what it needs itself. Downloads are cached where they persist on the same machine (~/.m2/repository,
# GOMODCACHE, ~/.cache/aws/jsii), but a cold machine works too. Each step prints its duration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 NODE_NO_WARNINGS=1
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true npm_config_update_notifier=false
# The examples synthesize offline; no AWS credentials may reach them.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true

LANGS=("$@")
[ ${#LANGS[@]} -eq 0 ] && LANGS=(python java go)
wants() { [[ " ${LANGS[*]} " == *" $1 "* ]]; }

step() {
  local name=$1; shift
  local start=$SECONDS
  echo "::: bindings: ${name}"
  "$@"
  echo "::: bindings: ${name} took $((SECONDS - start)) s"
}

VERSION=$(node -p 'require("./package.json").version')
M2_REPO=${M2_REPO:-$HOME/.m2/repository}

compile() {
  # compile bundles the crash reporter's Lambda asset (assets/, not in git), then runs jsii: lib/ and .jsii (with
  # README.md embedded).
  npx projen compile
}

rosetta() {
  # Compiles every ```ts block of README.md (--strict) and writes .jsii.tabl.json, from which jsii-pacmak takes the
  # Python/Java/Go translations for those packages' READMEs.
  rm -f .jsii.tabl.json
  npx projen rosetta:extract
}

pacmak_python_java() {
  local targets=()
  if [ "${WITH_JS:-}" = 1 ]; then targets+=(js); rm -rf dist/js; fi
  wants python && targets+=(python)
  wants java && targets+=(java)
  rm -rf dist/python dist/java
  # --maven-local-repository: pacmak otherwise resolves every Maven dependency into a new temporary repository.
  npx jsii-pacmak --targets "${targets[@]}" --maven-local-repository "$M2_REPO"
}

pacmak_go() {
  rm -rf dist/go
  # --code-only: pacmak's own `go mod tidy` would fail here. The generated go.mod lists as `// indirect` the Go
  # modules matching the npm packages installed under aws-cdk-lib (e.g. cloud-assembly-schema-go v53.28.0), and
  # the module proxy this machine reaches may not serve those exact versions. aws-cdk-go's own go.mod pins the
  # indirect versions it was built with, so we drop the indirect lines and let Go's version selection take them
  # from there. The example's `go build` then compiles the generated code.
  npx jsii-pacmak --targets go --code-only
  local mod
  mod=$(ls -d dist/go/*/go.mod)
  local indirect
  indirect=$(awk '/\/\/ indirect/ { print $1 }' "$mod")
  for m in $indirect; do
    (cd "$(dirname "$mod")" && go mod edit -droprequire="$m")
  done
  echo "generated Go module: $(dirname "$mod") (dropped indirect: ${indirect:-none})"
}

python_example() {
  cd "$ROOT/examples/python"
  rm -rf .venv
  python3 -m venv .venv
  # --no-compile: byte-compiling all of aws-cdk-lib at install takes ~50 s; the modules the app imports are compiled
  # on first import instead (PYTHONDONTWRITEBYTECODE is unset so the second process reuses them).
  .venv/bin/pip install --quiet --no-compile -r requirements.txt "$ROOT"/dist/python/*.whl
  env -u PYTHONDONTWRITEBYTECODE .venv/bin/python app.py
  env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m pytest -p no:cacheprovider -q test_app.py
  cd "$ROOT"
}

java_example() {
  cd "$ROOT/examples/java"
  rm -rf cdk.out
  # verify: compile + unit tests (Surefire); exec:java: synthesize ./cdk.out
  mvn -B --no-transfer-progress -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" -Dcdk-codepipeline-invoke.version="$VERSION" \
    verify exec:java
  cd "$ROOT"
}

go_example() {
  cd "$ROOT/examples/go"
  rm -rf cdk.out
  go mod tidy
  go vet ./...
  go test -count=1 ./...
  go run .
  cd "$ROOT"
}

if [ "${SKIP_COMPILE:-}" != 1 ]; then step "compile (bundle + jsii)" compile; fi
step "README examples (jsii-rosetta --strict)" rosetta
if wants python || wants java; then step "jsii-pacmak python/java" pacmak_python_java; fi
if wants go; then step "jsii-pacmak go (code only)" pacmak_go; fi
if wants python; then step "python example (venv + wheel + aws-cdk-lib, synth, pytest)" python_example; fi
if wants java; then step "java example (maven verify + synth)" java_example; fi
if wants go; then step "go example (build, test, synth)" go_example; fi
