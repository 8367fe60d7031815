#!/usr/bin/env bash
# Lints template.yaml and org/member.yaml with the three tools that judge them: cfn-lint
# (CloudFormation rules), sam validate (template.yaml only: the SAM transform as `sam deploy`
# will run it, and SAM's cfn-lint) and
# checkov (security checks). Exits non-zero on any finding; checkov findings that are accepted are skipped in
# the template's own Metadata, each with its reason, so none passes unexplained.
#
# aws-sam-cli and checkov pin versions of libraries (boto3, cfn-lint) that the project pins
# differently, so they live in a second virtualenv (.venv-tools, `make tools`). Override the
# paths with SAM=..., CHECKOV=..., CFN_LINT=... .
#
# None of the three needs AWS credentials or network access.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

TEMPLATE="${TEMPLATE:-template.yaml}"
# The member kit (org/member.yaml) is plain CloudFormation for a StackSet: cfn-lint and
# checkov judge it too; sam has nothing to transform there.
MEMBER_TEMPLATE="${MEMBER_TEMPLATE:-org/member.yaml}"
SAM="${SAM:-.venv-tools/bin/sam}"
CHECKOV="${CHECKOV:-.venv-tools/bin/checkov}"
CFN_LINT="${CFN_LINT:-.venv/bin/cfn-lint}"

missing=0
require() { # name path hint
    if [[ ! -x "$2" ]] && ! command -v "$2" >/dev/null 2>&1; then
        echo "check-template: $1 not found at $2: $3" >&2
        missing=1
    fi
}
require cfn-lint "$CFN_LINT" "install the dev dependencies, pip install -e '.[dev]' (or set CFN_LINT=...)"
require sam "$SAM" "run make tools (or set SAM=...)"
require checkov "$CHECKOV" "run make tools (or set CHECKOV=...)"
[[ -f "$TEMPLATE" ]] || { echo "check-template: no $TEMPLATE in $root" >&2; missing=1; }
[[ -f "$MEMBER_TEMPLATE" ]] || { echo "check-template: no $MEMBER_TEMPLATE in $root" >&2; missing=1; }
[[ $missing -eq 0 ]] || exit 2

# No telemetry: it would call out to the network on every run (CI has none).
export SAM_CLI_TELEMETRY=0
# The SAM transform needs a region for its boto session. It calls AWS (IAM) only to resolve
# managed policy names, and the template names none: no credentials are needed.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

failed=0
run() { # label command...
    echo "==> $1"
    if ! "${@:2}"; then
        echo "check-template: $1 FAILED" >&2
        failed=1
    fi
}

run "cfn-lint ($("$CFN_LINT" --version 2>&1))" "$CFN_LINT" "$TEMPLATE" "$MEMBER_TEMPLATE"
# Two passes: --lint runs only SAM's own cfn-lint; without it, sam runs the SAM transform
# as `sam deploy` will (samtranslator), which catches what a schema cannot. samconfig.toml
# sets lint = true for `sam validate`, so the transform pass reads an empty config instead.
run "sam validate --lint ($("$SAM" --version 2>&1))" "$SAM" validate --lint --template "$TEMPLATE"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
no_config="$scratch/samconfig.toml"
echo 'version = 0.1' >"$no_config"
run "sam validate (SAM transform)" "$SAM" validate --template "$TEMPLATE" --config-file "$no_config"
# --skip-download: no policy download from the Prisma Cloud platform (and no network).
run "checkov $("$CHECKOV" --version 2>&1)" "$CHECKOV" -f "$TEMPLATE" --framework cloudformation \
    --skip-download --quiet --compact
run "checkov $MEMBER_TEMPLATE" "$CHECKOV" -f "$MEMBER_TEMPLATE" --framework cloudformation \
    --skip-download --quiet --compact

if [[ $failed -ne 0 ]]; then
    echo "check-template: FAILED" >&2
    exit 1
fi
echo "check-template: $TEMPLATE and $MEMBER_TEMPLATE are clean"
