#!/usr/bin/env bash
# Builds the Lambda package with `sam build` (into .aws-sam/build). Extra arguments go to
# sam build, e.g. scripts/sam-build.sh --use-container.
#
# sam build runs src/Makefile (BuildMethod: makefile): the dependencies of
# src/requirements.txt, fetched as wheels for the function's platform (python3.13, Linux
# arm64) whatever this machine is, egress_guard, pruned to what the function runs, and
# compiled to bytecode by python3.13, which must be on PATH for that (Lambda cannot write
# bytecode itself, so a package without it compiles every module on each cold start).
# Afterwards scripts/check-package.py runs the package with only what the Lambda runtime
# provides beside it. SAM comes from the tools virtualenv (`make tools`); override its
# path with SAM=... .
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

SAM="${SAM:-.venv-tools/bin/sam}"
RUNTIME_PYTHON=python3.13

if [[ ! -x "$SAM" ]] && ! command -v "$SAM" >/dev/null 2>&1; then
    echo "sam-build: sam not found at $SAM: run make tools (or set SAM=...)" >&2
    exit 2
fi

use_container=0
for arg in "$@"; do
    [[ "$arg" == "--use-container" || "$arg" == "-u" ]] && use_container=1
done

if [[ $use_container -eq 0 ]] && ! "$RUNTIME_PYTHON" --version >/dev/null 2>&1; then
    # pyenv puts a python3.13 shim on PATH that fails unless a 3.13 version is selected:
    # select an installed one for this build only.
    pyenv_313=""
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_313="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$' | tail -n 1 || true)"
    fi
    if [[ -n "$pyenv_313" ]]; then
        export PYENV_VERSION="$pyenv_313"
        echo "sam-build: using pyenv's Python $pyenv_313 for $RUNTIME_PYTHON" >&2
    fi
fi
if [[ $use_container -eq 1 ]]; then
    version="the Lambda build image"
elif ! version="$("$RUNTIME_PYTHON" --version 2>&1)"; then
    cat >&2 <<EOF
sam-build: $RUNTIME_PYTHON not found.
  The package ships bytecode for the function's runtime (Runtime: python3.13 in
  template.yaml), compiled by that interpreter, which must be on PATH. Either:
    - pyenv install 3.13 (then PYENV_VERSION=3.13.<n> or \`pyenv shell 3.13.<n>\`), or
    - install python3.13 from your system's packages, or
    - build inside the Lambda build image instead: scripts/sam-build.sh --use-container
      (needs Docker).
EOF
    exit 2
fi

if [[ ! -f src/requirements.txt ]]; then
    echo "sam-build: src/requirements.txt is missing: generate it (make src/requirements.txt)" >&2
    exit 2
fi

export SAM_CLI_TELEMETRY=0
echo "==> sam build with $version ($("$SAM" --version))"
"$SAM" build --template template.yaml "$@"

du -sh --apparent-size .aws-sam/build/Function | sed 's/^/sam-build: unzipped package size /'
# The check needs boto3 beside it (the runtime's part): the project's venv has it.
check_python=.venv/bin/python
[[ -x "$check_python" ]] || check_python=python3
"$check_python" scripts/check-package.py --no-libyaml .aws-sam/build/Function
