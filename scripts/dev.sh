#!/usr/bin/env bash
# One entry point for a fresh clone:
#   bash scripts/dev.sh book    install into .venv, then build the book (executes every chapter)
#   bash scripts/dev.sh test    install into .venv, then run the whole test suite (what CI runs)
#   bash scripts/dev.sh train   install into .venv, then train the CPU profile and write its figures
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

fashion_mnist() {  # Debian's Fashion-MNIST: the book build trains on it, and tests check the bundled sample against it
    if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
        local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
        { $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
          || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }; } \
          || echo "note: could not apt-get install dataset-fashion-mnist; chapters 9 and 10 download it or use the bundled sample" >&2
    fi
}

chromium_for_tests() {  # tests/test_web_explorer.py drives headless Chromium; without one, those tests skip
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
       && ! command -v google-chrome >/dev/null && command -v apt-get >/dev/null; then
        local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
        { $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
          || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null 2>&1; }; } \
          || echo "note: could not apt-get install chromium; the explorer's browser tests will skip" >&2
    fi
}

axe_for_tests() {  # tests/test_site.py runs axe-core on the built pages; without npm (or offline) those tests skip
    if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
        if command -v npm >/dev/null; then
            npm install -q --no-audit --no-fund --prefix .cache/axe axe-core@4 >/dev/null 2>&1 \
              || echo "note: could not npm install axe-core; the site's accessibility tests will skip" >&2
        else
            echo "note: npm not found; the site's accessibility tests will skip" >&2
        fi
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
        chromium_for_tests
        axe_for_tests
        setup
        export INFOGAN_PROFILE=smoke
        # Two streams share the machine, one core each (OMP_NUM_THREADS=1; CI has two): the package's tests,
        # and the chapters: every chapter under nbval as on Colab (INFOGAN_NO_SYSTEM_DATA=1 hides Debian's
        # Fashion-MNIST: chapters 9 and 10 take the download-else-bundled-sample path), once with torch
        # answering as a T4 and once as an H100 (tests/fake_gpu.py; the tensors stay on the CPU), so a cell
        # that breaks only on a CUDA machine fails here; then the whole book, -W, as on a machine without a GPU.
        export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
        mkdir -p _build
        .venv/bin/python -m pytest -q tests > _build/tests.log 2>&1 &
        tests=$!
        chapters_ok=1
        for gpu in t4 h100; do
            echo "== chapters under nbval, torch answering as a fake $gpu"
            INFOGAN_NO_SYSTEM_DATA=1 INFOGAN_FAKE_GPU=$gpu INFOGAN_DEVICE=cpu PYTHONPATH="$PWD/tests/fake_gpu_kernel" \
                .venv/bin/python -m pytest -q --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg book \
                || chapters_ok=0
        done
        echo "== the book, -W"
        .venv/bin/jupyter-book build . -W -n --keep-going --path-output _build/ci-book || chapters_ok=0
        tests_ok=1
        wait "$tests" || tests_ok=0
        echo "== the package's tests"
        cat _build/tests.log
        [ "$tests_ok" = 1 ] && [ "$chapters_ok" = 1 ] || { echo "FAILED: see above" >&2; exit 1; }
        # the live explorer in that build; axe-core on every page, light and dark; no page wider than a phone
        INFOGAN_BOOK_HTML=_build/ci-book/_build/html .venv/bin/python -m pytest -q tests/test_web_explorer.py \
            tests/test_site.py -k "built_chapter or built_site"
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
