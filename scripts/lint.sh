#!/usr/bin/env bash
# The lint gate, as CI runs it before the tests (.ci/run): ruff on the whole tree,
# cython-lint on the .pyx/.pxd files, mypy on the package and numpydoc validation of the
# public API's docstrings (scripts/check_docstrings.py). The tools' settings are in
# pyproject.toml. Every tool runs; each finding prints as path:line[:column]: CODE message;
# the exit status is 1 when any tool found something.
#
# Needs the tools of .ci/lint-requirements.txt in the environment of $PYTHON (default:
# `python` on PATH): pip install -r .ci/lint-requirements.txt. No compiled extension is
# needed: the docstring check imports the source tree with the NumPy backend.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
bin=$("$PYTHON" -c 'import os, sys; print(os.path.dirname(sys.executable))')
export PATH="$bin:$PATH"      # cython-lint runs pycodestyle from PATH
status=0
run() {  # run NAME COMMAND...: a tool, its findings, and its verdict on one line
    local name=$1; shift
    if "$@"; then echo "lint: $name: clean"; else echo "lint: $name: FINDINGS" >&2; status=1; fi
}
run ruff "$PYTHON" -m ruff check --no-cache --output-format concise .
cython_lint="$bin/cython-lint"
[ -x "$cython_lint" ] || cython_lint=cython-lint   # e.g. a user install on PATH
run cython-lint "$cython_lint" src/fastmlp/backend/*.pyx src/fastmlp/backend/*.pxd \
    src/fastmlp/backend/*.pxi
run mypy "$PYTHON" -m mypy --no-error-summary --no-pretty
run numpydoc "$PYTHON" scripts/check_docstrings.py
exit $status
