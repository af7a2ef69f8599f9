#!/usr/bin/env bash
# Build the documentation site (Sphinx, numpydoc, MyST) into build/docs/html, or into the
# directory given as the first argument. Any warning, including a cross reference that
# does not resolve, fails the build (non-zero exit) after all of them are reported.
# Needs the docs extra (pip install ".[docs]") in the environment of `python` on PATH; it
# documents the source tree under src/ and needs no compiled extension.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-build/docs/html}"
if ! python -c "import sphinx, numpydoc, myst_parser, pydata_sphinx_theme" 2>/dev/null; then
    echo "build_docs.sh: $(command -v python || echo python) lacks the docs extra:" \
         "pip install \".[docs]\"" >&2
    exit 1
fi
export FASTMLP_BACKEND=numpy   # autodoc imports fastmlp; never try (or warn about) the extension
rm -rf docs/api/generated build/docs/doctrees   # stubs and pickles of an earlier build
python -m sphinx -W --keep-going -E -d build/docs/doctrees -b html docs "$out"
echo "documentation: $out/index.html"
