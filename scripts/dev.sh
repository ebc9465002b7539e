#!/usr/bin/env bash
# One entry point for a fresh clone:
#   bash scripts/dev.sh book    install into .venv, then build the book (executes every chapter)
#   bash scripts/dev.sh test    install into .venv, then run the whole test suite (what CI runs)
#   bash scripts/dev.sh train   install into .venv, then train the CPU profile and write its figures
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

setup() {
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[book,test]"
}

case "${1:-}" in
    book)
        setup
        .venv/bin/jupyter-book build . -W -n --keep-going
        echo "Open _build/html/index.html"
        ;;
    test)
        setup
        export INFOGAN_PROFILE=smoke
        # the package's tests, then every chapter under nbval, then the whole book with warnings as errors
        .venv/bin/python -m pytest -q --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg tests book
        .venv/bin/jupyter-book build . -W -n --keep-going --path-output _build/smoke
        ;;
    train)
        setup
        .venv/bin/python -m infogan_tutorial train --profile "${INFOGAN_PROFILE:-cpu}" --out runs/infogan-cpu
        ;;
    *)
        echo "usage: bash scripts/dev.sh book|test|train" >&2
        exit 2
        ;;
esac
