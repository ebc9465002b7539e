#!/usr/bin/env bash
# One entry point for a fresh clone:
#   bash scripts/dev.sh book    install into .venv, then build the book (executes every chapter)
#   bash scripts/dev.sh test    install into .venv, then run the whole test suite (what CI runs)
#   bash scripts/dev.sh train   install into .venv, then train the CPU profile and write its figures
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

fashion_mnist() {  # chapter 10 trains on Debian's Fashion-MNIST; without it, the chapter downloads it
    if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
        local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
        { $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
          || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }; } \
          || echo "note: could not apt-get install dataset-fashion-mnist; chapter 10 will try to download it" >&2
    fi
}

setup() {
    fashion_mnist
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[book,test,course]"
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
