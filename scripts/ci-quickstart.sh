#!/usr/bin/env bash
# Runs what a new user runs first, in clean temporary folders, against the packages this tree builds:
#   ts:     README "Quick start" as written (scripts/ci-quickstart-extract.ts turns it into a script; the only change
#           is `cdk-codepipeline-invoke` in `npm install` -> dist/js/*.tgz), then checks cdk.out and that the local
#           invoke checks the parameters against the schema; then README "Run a job locally" (the runJob snippet)
#           in that folder
#   python: README "Quick start in Python" the same way (`pip install` -> dist/python/*.whl, `npm install` -> the tarball)
#   types:  a strict `tsc --noEmit` (no skipLibCheck) of a handler importing cdk-codepipeline-invoke/runtime and /local,
#           in a folder with only typescript, @types/node and the tarball: the published declarations type-check
#           without our dev-only @types packages; and (after ts) the Quick start's files under its tsconfig.json, and the
#           One schema and Artifacts handlers of the README
#
# Usage: scripts/ci-quickstart.sh [ts] [python] [types]      (default: all three)
# Env:   BUILD=1  rebuild the tarball (npx projen compile + package:js) and the wheel (jsii-pacmak) first; without it
#                 they are built only when missing (CI builds them in its package and bindings steps)
#        KEEP=1   keep the temporary folders (printed) for a look
#
# Needs the npm registry (and PyPI for python): the Quick start installs aws-cdk, aws-cdk-lib, tsx... as a user would.
# Never AWS: no credentials reach it, and the CDK CLI runs with its network features off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 NODE_NO_WARNINGS=1
# The CDK CLI offline: no version check, no telemetry, no notices (CDK_NOTICES is the CLI's --notices option, read
# from the environment), no npm update notice.
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true CDK_NOTICES=false npm_config_update_notifier=false
export npm_config_fund=false npm_config_audit=false
# pip's `--no-compile` from the environment, without changing the README's command: byte-compiling all of aws-cdk-lib
# at install is most of the Python quick start's time, and the modules the app imports are compiled when imported.
# pip reads this variable inverted (a false value turns compiling off).
export PIP_NO_COMPILE=0
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true

PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(ts python types)
wants() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

step() {
  local name=$1; shift
  local start=$SECONDS
  echo "::: quickstart: ${name}"
  "$@"
  echo "::: quickstart: ${name} took $((SECONDS - start)) s"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cdk-codepipeline-invoke-quickstart.XXXXXX")
cleanup() { if [ "${KEEP:-}" = 1 ]; then echo "kept ${WORK}"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

fail() { echo "quickstart: $*" >&2; exit 1; }

tarball() {
  if [ "${BUILD:-}" = 1 ] || ! ls dist/js/*.tgz >/dev/null 2>&1; then
    npx projen compile
    npx projen package:js
  fi
  TGZ=$(ls "$ROOT"/dist/js/*.tgz)
  [ "$(echo "$TGZ" | wc -l)" = 1 ] || fail "more than one tarball in dist/js"
  tar tzf "$TGZ" > "$WORK/tarball.list"
  grep -q '^package/assets/crash-reporter.lambda/index.js$' "$WORK/tarball.list" || fail "$TGZ has no assets/crash-reporter.lambda"
}

wheel() {
  if [ "${BUILD:-}" = 1 ] || ! ls dist/python/*.whl >/dev/null 2>&1; then
    # As scripts/ci-bindings.sh builds it (needs lib/ and .jsii from the compile above).
    rm -rf dist/python
    npx jsii-pacmak --targets python
  fi
  WHL=$(ls "$ROOT"/dist/python/*.whl)
}

extract() {
  (cd "$ROOT" && npx ts-node --transpile-only -P tsconfig.dev.json scripts/ci-quickstart-extract.ts "$@")
}

# The folder the Quick start's first command creates (`mkdir X && cd X`).
quickstart_dir() { grep -m1 -o 'mkdir [A-Za-z0-9_-]* && cd [A-Za-z0-9_-]*' "$1" | awk '{ print $5 }'; }

check_synth() {
  local dir=$1 template=$1/cdk.out/ReleasePipeline.template.json
  [ -f "$dir/cdk.out/manifest.json" ] || fail "no cdk.out/manifest.json in $dir"
  node -e '
    const t = require(process.argv[1]);
    const actions = Object.values(t.Resources).filter((r) => r.Type === "AWS::CodePipeline::Pipeline")
      .flatMap((p) => p.Properties.Stages.flatMap((s) => s.Actions));
    const invoke = actions.find((a) => a.ActionTypeId.Provider === "Lambda");
    if (!invoke) { console.error("no Lambda invoke action in the synthesized pipeline"); process.exit(1); }
    console.log("synthesized: Lambda invoke action", invoke.Name, "UserParameters", invoke.Configuration.UserParameters);
  ' "$template"
}

# The handler checks its parameters against the stack's schema: a value the schema refuses fails the job (exit 1)
# as ConfigurationError naming the field, before the handler's own code runs.
check_schema_at_run_time() {
  local dir=$1 out rc=0
  out=$(cd "$dir" && npx cdk-codepipeline-invoke invoke --handler handler.ts --input Source=./site \
    --user-parameters '{"environment":"qa"}' 2>/dev/null) || rc=$?
  echo "$out"
  [ "$rc" = 1 ] || fail "invoke with a parameter the schema refuses exited $rc, not 1"
  grep -q 'ConfigurationError' <<<"$out" || fail "the failure is not a ConfigurationError"
  grep -q 'environment' <<<"$out" || fail "the failure does not name the field"
}

run_ts() {
  extract --section 'Quick start' --npm-package "$TGZ" --require app.ts,handler.ts,tsconfig.json,cdk.json > "$WORK/ts.sh"
  (cd "$WORK" && bash "$WORK/ts.sh")
  local dir
  dir="$WORK/$(quickstart_dir "$WORK/ts.sh")"
  check_synth "$dir"
  check_schema_at_run_time "$dir"
  # README "Run a job locally": the runJob snippet and its command, in the Quick start's folder.
  extract --section 'Run a job locally (no AWS account)' --require local-run.ts > "$WORK/local-run.sh"
  (cd "$dir" && bash "$WORK/local-run.sh") | tee "$WORK/local-run.out"
  grep -qx 'Succeeded' "$WORK/local-run.out" || fail "the runJob snippet did not print Succeeded"
  TS_QUICKSTART_DIR=$dir
}

run_python() {
  mkdir -p "$WORK/py"
  extract --section 'Quick start in Python' --npm-package "$TGZ" --pip-package "$WHL" --require app.py,handler.ts,cdk.json \
    > "$WORK/py.sh"
  # A clean shell: no venv of the caller, and Python's default bytecode behaviour.
  (cd "$WORK/py" && env -u VIRTUAL_ENV -u PYTHONDONTWRITEBYTECODE bash "$WORK/py.sh")
  local dir
  dir="$WORK/py/$(quickstart_dir "$WORK/py.sh")"
  check_synth "$dir"
  check_schema_at_run_time "$dir"
}

run_types() {
  local dir=$WORK/types
  mkdir -p "$dir"
  cd "$dir"
  npm init -y >/dev/null
  npm install --save-dev --silent typescript @types/node "$TGZ"
  cat > tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "node16",
    "strict": true,
    "skipLibCheck": false,
    "types": ["node"],
    "noEmit": true
  },
  "include": ["*.ts"]
}
EOF
  cat > handler.ts <<'EOF'
import { jobHandler, JobFailedError, UserParametersError } from 'cdk-codepipeline-invoke/runtime';
import { JobApiEmulator, LocalS3Server, runJob } from 'cdk-codepipeline-invoke/local';

interface Params { environment: 'dev' | 'prod' }

export const handler = jobHandler<Params>({ schema: { type: 'object', required: ['environment'] } }, async (job) => {
  const names = (await job.inputArtifact('Source').list()).map((e) => e.path);
  if (names.length === 0) throw new JobFailedError('empty', 'JobFailed');
  await job.outputArtifact('Out').uploadFiles({ 'names.txt': names.join('\n') });
  return { outputVariables: { environment: job.userParameters.environment } };
});

export async function main(): Promise<void> {
  const outcome = await runJob({ handler, userParameters: { environment: 'dev' }, inputs: { Source: '.' }, outputs: ['Out'] });
  const status: 'Succeeded' | 'Failed' = outcome.status;
  const jobs: JobApiEmulator = await JobApiEmulator.start();
  const s3: LocalS3Server = await LocalS3Server.start();
  console.log(status, jobs.endpoint, s3.endpoint, UserParametersError.name);
}
EOF
  # Every check runs, so that one report names all that fails; the step fails if any did.
  local failed=()
  echo "typescript $(npx tsc --version), strict, no skipLibCheck"
  echo "the package's declaration files checked: $(npx tsc -p . --listFilesOnly | grep -c 'node_modules/cdk-codepipeline-invoke/lib/' || true)"
  npx tsc -p . || failed+=("a handler using cdk-codepipeline-invoke/runtime and /local")
  # In the Quick start's folder (one more npm install instead of a new tree): its own files and the runJob snippet
  # under the README's tsconfig.json, and the README sections whose handlers CI compiles rather than runs, each in its
  # own folder, with the setup they state (json-schema-to-ts for "One schema").
  if [ -n "${TS_QUICKSTART_DIR:-}" ]; then
    cd "$TS_QUICKSTART_DIR"
    npm install --no-save --silent typescript json-schema-to-ts
    echo "the Quick start's files, with its tsconfig.json: $(ls ./*.ts | tr '\n' ' ')"
    npx tsc -p . || failed+=("the Quick start's files")
    local section folder
    for section in 'One schema for the stack and the handler' 'Artifacts'; do
      folder=readme-snippets/${section%% *}
      mkdir -p "$folder"
      extract --section "$section" --require handler.ts > "$WORK/types-${section%% *}.sh"
      (cd "$folder" && bash "$WORK/types-${section%% *}.sh" 2>/dev/null)
    done
    echo '{ "extends": "./tsconfig.json", "include": ["readme-snippets/*/*.ts"] }' > tsconfig.snippets.json
    echo "README snippets: $(ls readme-snippets/*/*.ts | tr '\n' ' ')"
    npx tsc -p tsconfig.snippets.json || failed+=("the One schema and Artifacts handlers of the README")
  fi
  cd "$ROOT"
  [ ${#failed[@]} -eq 0 ] || fail "strict tsc failed for: $(IFS=';'; echo "${failed[*]}")"
}

if wants ts || wants python || wants types; then step "npm tarball" tarball; fi
if wants python; then step "python wheel" wheel; fi
if wants ts; then step "README Quick start (TypeScript)" run_ts; fi
if wants python; then step "README Quick start in Python" run_python; fi
if wants types; then step "strict tsc of a handler using /runtime and /local" run_types; fi
