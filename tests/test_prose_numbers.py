"""The prose never states a number that a live cell prints differently (issue 27).

The rule, checked on every chapter's Markdown without running anything:

* A **percentage** (``44 %``) or a **count with a unit** (``270 steps``, ``1.83 nats``, ``172 images/s``,
  ``1,000 digits``, ...) in a chapter's prose must be

  1. written by the run that built the page: inside a MyST-NB glue role
     (``{glue:text}`name:.1%```), whose value a code cell hands over with
     ``infogan_tutorial.figures.glue("name", value)``; or
  2. a stored result, named as such: the paragraph it stands in (a table counts with the paragraph
     that introduces it) names a stored run or its source (``stored``, ``data/reference``,
     ``data/pretrained``, a run's name, ``benchmarks/``, the measuring machine, a sweep) or cites the
     paper (``{cite}``, "the paper"); or
  3. listed in ``ALLOWED`` below, with the reason it is neither (a setting of the method, a fact about
     a data set, a worked example).

  Numbers inside math (``$...$``), inline code and code blocks are not prose and are not checked.
* Every glue role's name has a ``glue("name", ...)`` call in a code cell of the same notebook (a glue
  name only resolves in a jupyter-book build; this catches a typo without one), and the notebooks
  take ``glue`` from the package, which works without MyST-NB (Colab), not from ``myst_nb``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))

UNIT = (r"%|nats?\b|steps?\b|images/s\b|images\b|digits\b|seeds?\b|runs?\b|pixels\b|rows\b|dimensions\b"
        r"|ms\b|minutes\b|passes\b")
# seconds only as "9.2 s": "1s" is the digit's plural
NUMBER = re.compile(rf"(?<![\w.$-])(\d[\d,]*(?:\.\d+)?)(?:\s?(?:{UNIT})|\ss\b)")
STORED = re.compile(r"stored|data/reference|data/pretrained|paper-seed|gan-seed|\{cite|the paper|paper's|H100|H200"
                    r"|benchmarks/|speed\.py|device_check|sweep|2-core|five seeds|record_reference", re.I)
GLUE_ROLE = re.compile(r"\{glue(?::\w*)?\}`(?P<key>[^`]*?)(?::[^`:]*)?`")
GLUE_CALL = re.compile(r"\bglue\(\s*(?P<f>f?)\"(?P<name>[^\"]+)\"")

# (chapter, the number as written, why it is neither glued nor a stored result)
ALLOWED = {
    ("02_gan_noise", "62 dimensions"): "the noise's size, a setting of the model",
    ("02_gan_noise", "90 %"): "the definition of the measurement (pixels carrying 90 % of the change)",
    ("03_latent_codes", "100 %"): "a worked example of a hypothetical Q",
    ("06_training", "4 steps"): "the design of the resume experiment, which the cell below prints",
    ("06_training", "2 steps"): "the design of the resume experiment, which the cell below prints",
    ("06b_gpu", "12 steps"): "the H100 test named in the list's heading ('Measured on an H100')",
    ("06b_gpu", "4,000 steps"): "the CPU runs of the chapter's bf16/fp32 table, its length a setting",
    ("06b_gpu", "47 minutes"): "the CPU runs of the chapter's bf16/fp32 table (their duration)",
    ("07_results", "10%"): "chance level of ten classes, a definition",
    ("07b_beyond_the_paper", "3 pixels"): "a setting of the invariant term's augmentation",
    ("08_exercises_foundations", "0 nats"): "a worked example of a loss",
    ("10_fashion_mnist", "4,000 images"): "the size of the bundled sample, a fact about the data",
}


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def prose(text: str) -> str:
    """Markdown without what is not prose: code blocks, math, inline code, roles (a glue role -> GLUED)."""
    text = re.sub(r"(?ms)^(`{3,})(?!\{)[^\n]*\n.*?^\1[ \t]*$", " ", text)  # code blocks (not {directives})
    text = re.sub(r"(?s)\$\$.*?\$\$", " ", text)
    text = GLUE_ROLE.sub(" GLUED ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", lambda m: m.group(0) if m.group(0).startswith("{cite") else " ", text)
    text = re.sub(r"`[^`]*`", " CODE ", text)
    return re.sub(r"\$[^$\n]*\$", " MATH ", text)


def paragraphs(text: str) -> list[str]:
    """The prose's paragraphs; a table joins the paragraph that introduces it."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", prose(text)):
        if para.lstrip().startswith("|") and out:
            out[-1] += "\n" + para
        else:
            out.append(para)
    return out


def unattributed(chapter: Path) -> list[tuple[str, str]]:
    """(number, context) for every percentage or count with a unit that is neither glued nor stored."""
    found = []
    for cell in json.loads(chapter.read_text(encoding="utf8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for para in paragraphs(_source(cell)):
            if STORED.search(para):
                continue
            for m in NUMBER.finditer(para):
                context = " ".join(para[max(0, m.start() - 70):m.end() + 50].split())
                found.append((m.group(0), context))
    return found


def test_the_rule_catches_a_live_number_and_passes_a_glued_or_stored_one(tmp_path: Path) -> None:
    def chapter(*markdown: str) -> Path:
        path = tmp_path / "99_x.ipynb"
        path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": [m]} for m in markdown]}))
        return path

    assert [n for n, _ in unattributed(chapter("Our run (270 steps, 44 % matched accuracy) split trousers."))] \
        == ["270 steps", "44 %"]
    assert unattributed(chapter("This run: {glue:text}`acc:.1%` after {glue:text}`steps` steps.")) == []
    assert unattributed(chapter("The stored run `paper-seed-1` scored 72.3 %.")) == []
    assert unattributed(chapter("A table of stored runs:\n\n| run | acc |\n|---|---|\n| a | 97.2 % |")) == []
    assert unattributed(chapter("Here $p = 50 %$ and `steps=270 steps`.")) == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_prose_are_glued_or_stored(chapter: Path) -> None:
    bad = [f"{number!r} in: ...{context}..." for number, context in unattributed(chapter)
           if (chapter.stem, number) not in ALLOWED]
    assert not bad, ("a number in the prose is neither glued (myst_nb glue from the cell that computes it) nor "
                     "named as a stored run's or the paper's; glue it, name its run, or add it to ALLOWED with "
                     "a reason:\n" + "\n".join(bad))


def test_numbers_in_the_introduction_are_stored_or_the_papers() -> None:
    found = [(number, context) for para in paragraphs((ROOT / "book" / "intro.md").read_text(encoding="utf8"))
             if not STORED.search(para) for number, context in [(m.group(0), para) for m in NUMBER.finditer(para)]]
    assert not found, f"unattributed numbers in book/intro.md: {found}"


def test_every_allowed_number_is_still_in_its_chapter() -> None:
    used = {(c.stem, n) for c in CHAPTERS for n, _ in unattributed(c)}
    assert not set(ALLOWED) - used, f"ALLOWED entries no longer needed: {sorted(set(ALLOWED) - used)}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_name_is_glued_by_a_cell_of_its_notebook(chapter: Path) -> None:
    cells = json.loads(chapter.read_text(encoding="utf8"))["cells"]
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    names = [re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(m.group("name"))) if m.group("f")
                        else re.escape(m.group("name"))) for m in GLUE_CALL.finditer(code)]
    used = {m.group("key").split("::")[-1] for c in cells if c["cell_type"] == "markdown"
            for m in GLUE_ROLE.finditer(_source(c))}
    missing = sorted(k for k in used if not any(n.fullmatch(k) for n in names))
    assert not missing, f"glue roles without a glue(...) call in {chapter.name}: {missing}"
    assert "from myst_nb" not in code and "import myst_nb" not in code, \
        "take glue from infogan_tutorial.figures, which works without MyST-NB (Colab)"


def test_glue_shows_nothing_at_the_end_of_a_cell() -> None:
    from infogan_tutorial.figures import glue

    assert glue("test_value", 0.5) is None  # a returned value would be echoed as the cell's output
