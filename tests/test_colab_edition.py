"""The Colab edition (colab/*.ipynb, written by scripts/sync_notebooks.py): what every Colab button opens.

It is the book's chapter with the MyST rendered as Markdown Colab shows, the gated solutions folded
into a closed Markdown cell (so "Run all" checks the reader's own answer), every other cell as in
the book; and it is up to date.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]*.ipynb"))


def load_sync():
    spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "scripts" / "sync_notebooks.py")
    assert spec is not None and spec.loader is not None
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    return sync


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_colab_editions_are_up_to_date() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "sync_notebooks.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_colab_edition_matches_the_book_but_for_solutions_and_markup(chapter: Path) -> None:
    book = json.loads(chapter.read_text())["cells"]
    colab = json.loads((ROOT / "colab" / chapter.name).read_text())["cells"]
    expected, inside = [], False
    for cell in book:
        text = source(cell).lstrip()
        if cell["cell_type"] == "markdown" and re.match(r"(```+|:::+)\{solution-(start|end)\}", text):
            inside = "solution-start" in text.split("\n", 1)[0]
        elif cell["cell_type"] == "code" and not inside:
            expected.append(cell)
    code = [c for c in colab if c["cell_type"] == "code"]
    install = code[0]  # Colab shows it as a form: a title line, the code one click away
    assert install["metadata"]["cellView"] == "form" and source(install).startswith("# @title Install")
    assert source(install).split("\n", 1)[1] == source(expected[0])
    assert code[1:] == expected[1:]  # same code, solutions gone
    assert "# Install cell (written by scripts/sync_notebooks.py)" in source(expected[0])
    markdown = "\n".join(source(c) for c in colab if c["cell_type"] == "markdown")
    assert not re.search(r"^\s*(```+|:::+)\{", markdown, re.M), "a MyST directive left"
    assert not re.search(r"\{(cite|ref|numref|doc|eq)(:\w+)?\}`", markdown), "a MyST role left"
    assert not re.search(r"\{glue(:\w*)?\}`", markdown), "a glue role left (Colab shows the value's name)"
    if re.search(r"\{glue(:\w*)?\}`", "\n".join(source(c) for c in book if c["cell_type"] == "markdown")):
        assert "This run's numbers." in markdown, "the note that says what a glued name in code font stands for"
    assert not re.search(r"^\([\w:.-]+\)=\s*$", markdown, re.M), "a MyST target left"
    assert markdown.count("$") >= sum(source(c).count("$") for c in book if c["cell_type"] == "markdown"
                                      and "solution" not in source(c)) // 2  # math kept


def test_markup_is_rendered_for_colab() -> None:
    sync = load_sync()
    md = sync.ColabMarkdown(ROOT, {"html": {"baseurl": "https://example.org/book/"}})
    md.labels["ch9-x"] = ("book/09_exercises_experiments", "Section")
    text = md.convert("```{exercise} Do it\n:label: ex-do\n\nWrite $f$.\n```\n"
                      ":::{admonition} Hint\n:class: dropdown\nLook {cite}`chen2016infogan`.\n:::\n"
                      "```{note}\nSee {ref}`there <ch9-x>` and {ref}`ch9-x`.\n```\n(ch9-y)=\n## Next")
    assert text == ("#### Exercise: Do it\n\nWrite $f$.\n"
                    "<details><summary><b>Hint</b></summary>\n\nLook ([Chen et al., 2016]"
                    "(https://example.org/book/book/bibliography.html)).\n\n</details>\n"
                    "> **Note**\n>\n> See [there](https://example.org/book/book/09_exercises_experiments.html#ch9-x)"
                    " and [Section](https://example.org/book/book/09_exercises_experiments.html#ch9-x).\n## Next")
    plain = sync.ColabMarkdown(ROOT, {})  # no published URL: text only
    assert plain.convert("{glue:text}`ch9_acc:.1%` of {glue}`n` and {glue:}`m`") == "`ch9_acc` of `n` and `m`"
    assert plain.convert("{cite}`chen2016infogan` and {ref}`that <ch9-x>`") == "(Chen et al., 2016) and that"


def test_run_all_reaches_the_readers_stub_not_the_solution() -> None:
    colab = json.loads((ROOT / "colab" / "08_exercises_foundations.ipynb").read_text())["cells"]
    code = [source(c) for c in colab if c["cell_type"] == "code"]
    defs = [c for c in code if c.startswith("def categorical_info_loss")]
    assert len(defs) == 1 and "raise NotImplementedError" in defs[0]
    folded = [source(c) for c in colab
              if c["cell_type"] == "markdown" and source(c).startswith("<details><summary><b>Solution")]
    assert any("def categorical_info_loss" in f for f in folded)


def test_every_colab_button_opens_the_colab_edition() -> None:
    """sphinx-book-theme builds the button as {colab_url}/github/{org}/{repo}/blob/{branch}/{path_to_book}{page}.ipynb
    (header_buttons/launch.py); book/_ext/infogan_site.py turns it to colab/{page}.ipynb, which exists."""
    spec = importlib.util.spec_from_file_location("infogan_site", ROOT / "book" / "_ext" / "infogan_site.py")
    assert spec is not None and spec.loader is not None
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    base = "https://colab.research.google.com/github/org/repo/blob/main/"
    for chapter in CHAPTERS:
        context = {"header_buttons": [{"type": "group", "buttons": [
            {"text": "Binder", "url": "https://mybinder.org/v2/gh/org/repo/main?urlpath=tree/book/x.ipynb"},
            {"text": "Colab", "url": f"{base}book/{chapter.name}"}]}]}
        site.colab_buttons(None, f"book/{chapter.stem}", "page.html", context, None)
        buttons = context["header_buttons"][0]["buttons"]
        assert buttons[1]["url"] == f"{base}colab/{chapter.name}" and (ROOT / "colab" / chapter.name).is_file()
        assert buttons[0]["url"].endswith("tree/book/x.ipynb")  # other launchers unchanged


def test_run_all_in_colab_grades_the_reader_not_the_solution(capsys: pytest.CaptureFixture[str]) -> None:
    """Chapter 8's first exercise, run top to bottom as in Colab (install cell aside): the checker sees the stub."""
    colab = json.loads((ROOT / "colab" / "08_exercises_foundations.ipynb").read_text())["cells"]
    code = [source(c) for c in colab if c["cell_type"] == "code"][1:]
    scope: dict = {"__name__": "__main__"}
    for cell in code:
        assert not re.search(r"^\s*[%!]", cell, re.M), "a magic: run it in IPython instead"
        exec(compile(cell, "cell", "exec"), scope)  # noqa: S102 - as Colab runs it
        if cell.startswith("# NBVAL_CHECK_OUTPUT\ncheck_categorical_info_loss"):
            break
    else:
        pytest.fail("no check of the first exercise")
    out = capsys.readouterr().out
    assert "✗" in out and "not implemented yet" in out and "✓" not in out
