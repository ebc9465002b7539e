"""Keep the chapter notebooks uniform: the Colab install cell, GPU metadata, no outputs.

    python scripts/sync_notebooks.py          # rewrite book/*.ipynb in place
    python scripts/sync_notebooks.py --check  # exit 1 if any notebook is out of date (CI)

The install cell is generated from the repository URL in ``_config.yml`` (its one home) and the
package's ``__version__`` and module list, so that no notebook carries a stale copy. It is the first
code cell of every chapter and is skipped by nbval (``# NBVAL_SKIP``). It uses an installed package
only if it matches the book (version, modules, ``data/`` beside it) and says which one it uses
(path, git commit, ``data/``); otherwise it clones into ``./infogan-tutorial`` (the working folder),
updates a stale clone it made, and never deletes a folder it did not make (marker file). Every
failure ends in one line that says what to do. ``tests/test_install_cell.py`` runs it against a
local repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Install cell (written by scripts/sync_notebooks.py)"

INSTALL_CELL = """# NBVAL_SKIP
{marker}.
# It says which infogan_tutorial it uses (path, git commit, data/) and uses one
# only if it is this book's version (its git trees of infogan_tutorial/ and
# data/; else version {version}, its modules, data/). Else it clones the
# repository into ./infogan-tutorial (the working folder: Colab's file browser
# shows it) and installs it. It deletes only folders it made (they hold a
# marker file) and pins nothing Colab ships (torch, numpy, ipywidgets).
import importlib, importlib.util, os, re, shutil, subprocess, sys

REPO = "{url}"
BRANCH, VERSION = "{branch}", "{version}"
TREES = {trees}
{modules}
TARGET = os.path.abspath("infogan-tutorial")
MARK = "made-by-install-cell"  # in .git of a clone this cell made
AGAIN = "run this cell again"


class InstallCellError(Exception):
    def _render_traceback_(self):  # Jupyter and Colab show this line only
        return [f"Install cell: {{self}}"]


def _fail(what):
    raise InstallCellError(what)


def _git(path, *args):
    run = subprocess.run(["git", "-C", path, *args], capture_output=True,
                         text=True)
    return run.stdout.strip() if run.returncode == 0 else None


def _changed(root):
    # edits of tracked files in the package or data/ (None: not a clone)
    return _git(root, "status", "--porcelain", "-uno", "--", *TREES)


def _problems(root):
    # why the package under root does not fit this book ([] if it does)
    pkg = os.path.join(root, "infogan_tutorial")
    try:
        with open(os.path.join(pkg, "__init__.py"), encoding="utf8") as f:
            found = re.search(r"__version__ = .([^\\"']+)", f.read())
    except OSError:
        return ["no infogan_tutorial package"]
    bad = [] if found and found.group(1) == VERSION else [
        f"version {{found.group(1) if found else '?'}}, the book needs {{VERSION}}"]
    gone = [m for m in MODULES if not (
        os.path.isfile(os.path.join(pkg, m + ".py"))
        or os.path.isfile(os.path.join(pkg, m, "__init__.py")))]
    if gone:
        bad.append("missing modules " + ", ".join(gone))
    if not os.path.isdir(os.path.join(root, "data")):
        bad.append("no data/ folder beside the package")
    missing = (_git(root, "ls-files", "--deleted", "--", *TREES) or "").split()
    if missing:
        bad.append(f"{{len(missing)}} of its files are missing ({{missing[0]}})")
    old = _old(root)
    if old and not _changed(root):
        bad.append(f"its {{old}} not this book's version")
    return bad


def _old(root):
    # which of the clone's committed package and data/ are not the book's
    old = [d + "/" for d, tree in TREES.items()
           if _git(root, "rev-parse", f"HEAD:{{d}}") not in (None, tree)]
    if not old:
        return ""
    return " and ".join(old) + (" are" if len(old) > 1 else " is")


def _describe(root):
    commit = _git(root, "rev-parse", "--short", "HEAD")
    where = f"git commit {{commit}}" if commit else "not a git clone"
    if commit and _changed(root):
        where += ", with your local changes"
        if _old(root):
            where += (", on a commit that is not this book's version (to use"
                      " the book's, rename this folder and run this cell)")
    data = "present" if os.path.isdir(os.path.join(root, "data")) else "MISSING"
    return f"infogan_tutorial {{VERSION}} from {{root}} ({{where}}; data/ {{data}})"


def _clone():
    partial = TARGET + ".partial"
    if os.path.isfile(os.path.join(partial, MARK)):  # an interrupted run's
        shutil.rmtree(partial)
    elif os.path.lexists(partial):
        _fail(f"{{partial}} is in the way: rename it, then {{AGAIN}}.")
    os.makedirs(partial)
    open(os.path.join(partial, MARK), "w").close()
    try:
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch",
                        BRANCH, REPO, os.path.join(partial, "repo")],
                       check=True, capture_output=True, text=True)
    except (subprocess.CalledProcessError, KeyboardInterrupt) as e:
        shutil.rmtree(partial, ignore_errors=True)
        said = (getattr(e, "stderr", None) or "").strip().splitlines()
        why = f" (git: {{said[-1]}})" if said else ""
        _fail(f"cloning {{REPO}} failed or was stopped{{why}}: check the "
              f"connection, then {{AGAIN}}.")
    open(os.path.join(partial, "repo", ".git", MARK), "w").close()
    os.rename(os.path.join(partial, "repo"), TARGET)
    shutil.rmtree(partial)
    print(f"Cloned {{REPO}} into {{TARGET}}.")


def _update():
    # a stale clone: fetch the book's branch; never lose the reader's changes
    ours = os.path.isfile(os.path.join(TARGET, ".git", MARK))
    if not ours and _git(TARGET, "remote", "get-url", "origin") != REPO:
        _fail(f"{{TARGET}} is a git repository of yours, not a clone of "
              f"{{REPO}}: rename it, then {{AGAIN}}.")
    if not ours or _git(TARGET, "status", "--porcelain", "-uno") != "":
        _fail(f"{{TARGET}} is your clone, not this book's version; update it "
              f"(git -C {{TARGET}} fetch origin {{BRANCH}}, then git -C {{TARGET}} "
              f"checkout FETCH_HEAD) or rename it, then {{AGAIN}}.")
    if (_git(TARGET, "fetch", "-q", "--depth", "1", "origin", BRANCH) is None
            or _git(TARGET, "reset", "-q", "--keep", "FETCH_HEAD") is None):
        _fail(f"could not update {{TARGET}} from {{REPO}}: {{AGAIN}}.")
    print(f"Updated {{TARGET}} from {{REPO}}.")


def _install(said):
    # said: the reason a found install was not used has been printed
    if not os.path.lexists(TARGET):
        _clone()
    elif (not os.path.isdir(os.path.join(TARGET, ".git"))
          or _git(TARGET, "ls-files", "infogan_tutorial") == ""):
        _fail(f"{{TARGET}} is not a clone of {{REPO}}: rename it, "
              f"then {{AGAIN}}.")
    else:
        missing = _git(TARGET, "ls-files", "--deleted")
        ours = os.path.isfile(os.path.join(TARGET, ".git", MARK))
        if missing and ours:
            _git(TARGET, "checkout", "-q", "--", *missing.splitlines())
            print(f"Restored {{len(missing.splitlines())}} missing file(s).")
        elif missing:
            _fail(f"files of your clone {{TARGET}} are missing ("
                  f"{{missing.splitlines()[0]}}): restore them (git -C {{TARGET}} "
                  "checkout -- .) "
                  f"or rename it, then {{AGAIN}}.")
        if _problems(TARGET):
            if not said:
                print(f"Not using {{TARGET}}: " + "; ".join(_problems(TARGET)))
            _update()
    if _problems(TARGET):
        _fail(f"{{TARGET}}: " + "; ".join(_problems(TARGET)) + ". Rename "
              f"it, then {{AGAIN}}.")
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e",
                        TARGET], check=True, capture_output=True)
    except (subprocess.CalledProcessError, KeyboardInterrupt):
        _fail(f"pip install failed or was stopped: {{AGAIN}}.")
    sys.path.insert(0, TARGET)
    importlib.invalidate_caches()


def _main():
    spec = importlib.util.find_spec("infogan_tutorial")
    root = spec and os.path.dirname(os.path.dirname(spec.origin))
    if root and not _problems(root):
        print("Using " + _describe(root) + ".")
        return
    if root:
        print(f"Not using infogan_tutorial from {{root}}: "
              + "; ".join(_problems(root)) + ".")
    _install(said=root == TARGET)
    print("Installed " + _describe(TARGET) + ".")
    if "infogan_tutorial" in sys.modules:
        print("Runtime → Restart session, then run all: the old code is "
              "still loaded.")


try:
    _main()
except InstallCellError:
    raise
except KeyboardInterrupt:
    _fail(f"stopped: {{AGAIN}}.")
except OSError as error:
    _fail(f"{{error}}: {{AGAIN}}; if it fails again, Runtime → Restart "
          "session, then run it.")"""


def package_modules() -> list[str]:
    """The package's modules and subpackages (those git tracks, where it can say): the install cell checks that
    a found install has them all."""
    pkg = ROOT / "infogan_tutorial"
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--", "infogan_tutorial"], capture_output=True,
                            text=True)
    files = ([ROOT / f for f in listed.stdout.split()] if listed.returncode == 0 and listed.stdout
             else list(pkg.glob("*.py")) + list(pkg.glob("*/__init__.py")))
    names = [p.stem for p in files if p.parent == pkg and p.suffix == ".py" and p.stem not in ("__init__", "__main__")]
    names += [p.parent.name for p in files if p.name == "__init__.py" and p.parent.parent == pkg]
    return sorted(names)


def package_version() -> str:
    found = re.search(r"__version__ = \"([^\"]+)\"", (ROOT / "infogan_tutorial" / "__init__.py").read_text())
    assert found, "infogan_tutorial/__init__.py has no __version__"
    return found.group(1)


METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": []},
}


def _git_tree(files: dict[str, tuple[str, bytes]]) -> bytes:
    """Git's tree id (SHA-1, raw) of ``files``: relative path -> (mode, content)."""
    here: dict[str, tuple[str, bytes]] = {}
    below: dict[str, dict[str, tuple[str, bytes]]] = {}
    for rel, entry in files.items():
        head, _, rest = rel.partition("/")
        if rest:
            below.setdefault(head, {})[rest] = entry
        else:
            here[head] = entry
    items = [(name + "/", b"40000", name, _git_tree(sub)) for name, sub in below.items()]
    for name, (mode, data) in here.items():
        items.append((name, mode.encode(), name, hashlib.sha1(b"blob %d\0" % len(data) + data).digest()))
    body = b"".join(mode + b" " + name.encode() + b"\0" + sha
                    for _, mode, name, sha in sorted(items, key=lambda e: e[0].encode()))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).digest()


TREE_FOLDERS = ("infogan_tutorial", "data")
"""What the install cell checks of a found clone: its git trees must be the book's."""


def package_trees(root: Path = ROOT) -> dict[str, str]:
    """The git tree ids of ``root``'s ``infogan_tutorial/`` and ``data/`` as they are on disk now: of the files
    git tracks there (uncommitted content included), or, outside a git repository (``course.py publish``'s
    copy), of every file but caches. A clone whose ``HEAD:<folder>`` has these ids holds this book's code."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-s", "--", *TREE_FOLDERS],
                            capture_output=True, text=True)
    trees = {}
    for folder in TREE_FOLDERS:
        if listed.returncode == 0 and (root / ".git").exists():
            modes = {line.split("\t", 1)[1]: line.split()[0] for line in listed.stdout.splitlines()}
            paths = [p for p in modes if p.startswith(folder + "/") and (root / p).is_file()]
        else:
            paths = [p.relative_to(root).as_posix() for p in sorted((root / folder).rglob("*")) if p.is_file()
                     and "__pycache__" not in p.parts and p.suffix != ".pyc" and ".ipynb_checkpoints" not in p.parts]
            modes = {p: "100755" if os.access(root / p, os.X_OK) else "100644" for p in paths}
        files = {p[len(folder) + 1:]: (modes[p], (root / p).read_bytes()) for p in paths}
        trees[folder] = _git_tree(files).hex()
    return trees


def install_cell(config: dict, version: str | None = None, modules: list[str] | None = None,
                 trees: dict[str, str] | None = None) -> dict:
    """The install cell for the repository of ``config``; ``trees`` (default: :func:`package_trees` of this
    repository) are the git trees a found clone must have; ``{}`` checks version and modules only."""
    repo = config["repository"]
    trees = package_trees() if trees is None else trees
    names = modules if modules is not None else package_modules()
    listed = textwrap.fill(f"MODULES = {names!r}", 79, subsequent_indent="    ", break_long_words=False)
    listed_trees = "{" + "".join(f"\n    {k!r}: {v!r}," for k, v in trees.items()) + ("\n}" if trees else "}")
    source = INSTALL_CELL.format(marker=MARKER, url=repo["url"], branch=repo.get("branch", "main"),
                                 version=version or package_version(), modules=listed, trees=listed_trees)
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["hide-input", "remove-output"]},
            "outputs": [], "source": source.splitlines(keepends=True)}


def synced(nb: dict, cell: dict) -> dict:
    cells = [c for c in nb["cells"] if not (c["cell_type"] == "code" and MARKER in "".join(c["source"]))]
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(first_code, cell)
    for c in cells:
        c.pop("id", None)
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        if isinstance(c["source"], str):
            c["source"] = c["source"].splitlines(keepends=True)
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 4}


# ---------------------------------------------------------------------------------------------
# The Colab edition: colab/<chapter>.ipynb, what every Colab button opens. Colab renders plain
# Markdown only, so the MyST blocks and roles become Markdown, and the solutions (gated
# {solution-start} ... {solution-end}) are folded into one collapsed Markdown cell, so that
# "Run all" runs the reader's own stub or answer through the checker.

COLAB_DIR = "colab"
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<role>cite|cite:p|cite:t|ref|numref|doc|eq|term)\}`(?P<body>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=[ \t]*\n?", re.M)
# MyST-NB's glue roles: {glue}`name`, {glue:}`name`, {glue:text}`name:.1f` (a format after the last colon)
_GLUE = re.compile(r"\{glue(?::(?:text|md|any|math|figure))?:?\}`(?P<key>[^`]*?)(?::[^`:]*)?`")
GLUE_NOTE = ("> **This run's numbers.** A name in code font such as `{name}` stands for a number or a sentence "
             "that a code cell of this notebook computes: its `glue(\"{name}\", ...)` call shows how, and most "
             "such values are in the cell's printed output. The published book writes in the values of the run "
             "that built it.")
_CALLOUT_TITLES = {"note": "Note", "tip": "Tip", "hint": "Hint", "warning": "Warning", "important": "Important",
                   "caution": "Caution", "attention": "Attention", "danger": "Danger", "error": "Error",
                   "seealso": "See also"}


def _bib_labels(root: Path) -> dict[str, tuple[str, str]]:
    """citation key -> ("Author et al.", "year") from the book's .bib files."""
    labels = {}
    for bib in sorted((root / "book").glob("*.bib")):
        for entry in re.split(r"\n(?=@)", bib.read_text(encoding="utf8")):
            key = re.match(r"@\w+\{([^,]+),", entry.strip())
            if not key:
                continue
            author = re.search(r"author\s*=\s*\{(.*?)\},?\s*\n", entry)
            year = re.search(r"year\s*=\s*\{?(\d{4})", entry)
            names = [a.split(",")[0].strip("{} ") for a in author.group(1).split(" and ")] if author else [key.group(1)]
            who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
                   else f"{names[0]} et al.")
            labels[key.group(1)] = (who, year.group(1) if year else "n.d.")
    return labels


def _label_pages(root: Path) -> dict[str, tuple[str, str]]:
    """label -> (page, title) for every (label)= target and :label: option of the book."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((root / "book").glob("*.ipynb")) + sorted((root / "book").glob("*.md")):
        if path.suffix == ".ipynb":
            texts = ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf8"))["cells"]
                     if c["cell_type"] == "markdown"]
        else:
            texts = [path.read_text(encoding="utf8")]
        for text in texts:
            for m in re.finditer(r"^\(([\w:.-]+)\)=[ \t]*\n(?:#+\s*(.*))?", text, re.M):
                found[m.group(1)] = (f"book/{path.stem}", (m.group(2) or m.group(1)).strip())
            labelled = r"^(?:`{3,}|:{3,})\{[\w-]+\}[ \t]*(.*)\n(?::[\w-]+:.*\n)*?:label:\s*(\S+)"
            for m in re.finditer(labelled, text, re.M):
                found[m.group(2)] = (f"book/{path.stem}", m.group(1).strip() or m.group(2))
    return found


class ColabMarkdown:
    """Turns the MyST of a markdown cell into Markdown that Colab renders."""

    def __init__(self, root: Path, config: dict) -> None:
        self.base = ((config.get("html") or {}).get("baseurl") or "").rstrip("/")
        self.bib = _bib_labels(root)
        self.labels = _label_pages(root)

    def _link(self, text: str, page: str, anchor: str = "") -> str:
        if not self.base:
            return text
        return f"[{text}]({self.base}/{page}.html{'#' + anchor if anchor else ''})"

    def _role(self, m: re.Match) -> str:
        role, body = m.group("role"), m.group("body")
        explicit = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", body)
        text, target = (explicit.group(1), explicit.group(2)) if explicit else (None, body)
        if role.startswith("cite"):
            found = [self.bib.get(k.strip(), (k.strip(), "")) for k in target.split(",")]
            if role == "cite:t":  # Chen et al. (2016)
                return "; ".join(self._link(f"{who} ({year})", "book/bibliography") for who, year in found)
            # {cite}, {cite:p}: (Chen et al., 2016), as the book's author_year style
            return "(" + "; ".join(self._link(f"{who}, {year}", "book/bibliography") for who, year in found) + ")"
        if role == "doc":
            page = target.removesuffix(".md").removesuffix(".ipynb").lstrip("/")
            page = page if "/" in page else f"book/{page}"
            return self._link(text or self.labels.get(page, (page, Path(page).name))[1], page)
        if role == "eq":
            return f"({target})"
        page, title = self.labels.get(target, ("", target))
        return self._link(text or title.replace("{", "").replace("}", "").strip("# "), page, target) if page \
            else (text or target)

    def roles(self, text: str) -> str:
        # a glued value exists only in a built page: Colab shows its name (GLUE_NOTE says what it is)
        text = _GLUE.sub(lambda m: f"`{m.group('key').split('::')[-1]}`", text)
        return _ROLE.sub(self._role, text)

    def _block(self, name: str, arg: str, options: dict[str, str], body: str) -> str:
        body = body.strip("\n")
        if name in ("math",):
            return f"$$\n{body}\n$$"
        if name == "exercise":
            title = f"Exercise: {arg}" if arg else "Exercise"
            return f"#### {title}\n\n{body}"
        if name == "solution":
            return f"<details><summary><b>Solution</b></summary>\n\n{body}\n\n</details>"
        title = arg or _CALLOUT_TITLES.get(name, name.capitalize())
        if "dropdown" in options.get("class", ""):
            return f"<details><summary><b>{title}</b></summary>\n\n{body}\n\n</details>"
        quoted = "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))
        return f"> **{title}**\n>\n{quoted}"

    def convert(self, text: str) -> str:
        """The cell's text with every {directive} fence rendered, roles as text or links, targets dropped."""
        lines, out, i = text.split("\n"), [], 0
        while i < len(lines):
            m = _FENCE.match(lines[i])
            if not m:
                out.append(lines[i])
                i += 1
                continue
            fence, j, options = m.group("fence"), i + 1, {}
            while j < len(lines) and re.match(r"^:[\w-]+:", lines[j]):
                key, _, value = lines[j][1:].partition(":")
                options[key] = value.strip()
                j += 1
            k = j
            while k < len(lines) and lines[k].strip() != fence:
                k += 1
            inner = self.convert("\n".join(lines[j:k]))  # nested blocks
            out.append(self._block(m.group("name"), m.group("arg").strip(), options, inner))
            i = k + 1
        return _TARGET.sub("", self.roles("\n".join(out)))


def _gate(cell: dict) -> str | None:
    """"start" / "end" for the markdown cells that open and close a gated solution."""
    if cell["cell_type"] != "markdown":
        return None
    first = "".join(cell["source"]).lstrip().split("\n", 1)[0]
    m = _FENCE.match(first)
    if m and m.group("name") in ("solution-start", "solution-end"):
        return m.group("name").removeprefix("solution-")
    return None


INSTALL_TITLE = "# @title Install the book's package (run this first; it says which code and data it uses)"


def colab_edition(nb: dict, markdown: ColabMarkdown) -> dict:
    """The chapter as Colab shows it: Markdown Colab renders; each solution folded into one closed
    Markdown cell (its text and code, never run); every other cell as in the book."""
    cells: list[dict] = []
    solution: list[dict] | None = None
    for cell in nb["cells"]:
        gate = _gate(cell)
        if gate == "start":
            solution = []
        elif gate == "end" and solution is not None:
            parts = []
            for c in solution:
                src = "".join(c["source"]).strip("\n")
                parts.append(markdown.convert(src) if c["cell_type"] == "markdown" else f"```python\n{src}\n```")
            body = "\n\n".join(parts)
            text = (f"<details><summary><b>Solution</b> (try the exercise first; this code is not run: "
                    f"copy it into the cell above to use it)</summary>\n\n{body}\n\n</details>")
            cells.append({"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)})
            solution = None
        elif solution is not None:
            solution.append(cell)
        elif cell["cell_type"] == "markdown":
            text = markdown.convert("".join(cell["source"]))
            cells.append({**cell, "source": text.splitlines(keepends=True)})
        elif MARKER in "".join(cell["source"]):  # Colab shows a form: the title, the code one click away
            cells.append({**cell, "metadata": {**cell["metadata"], "cellView": "form"},
                          "source": [INSTALL_TITLE + "\n", *cell["source"]]})
        else:
            cells.append(cell)
    assert solution is None, "a {solution-start} without its {solution-end}"
    glued = [m.group("key") for c in nb["cells"] if c["cell_type"] == "markdown"
             for m in _GLUE.finditer("".join(c["source"]))]
    if glued:  # say once, after the title, what the names in code font stand for
        first = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown")
        note = GLUE_NOTE.format(name=glued[0].split("::")[-1])
        cells.insert(first + 1, {"cell_type": "markdown", "metadata": {}, "source": note.splitlines(keepends=True)})
    return {**nb, "cells": cells}


def colab_path(root: Path, chapter: Path) -> Path:
    return root / COLAB_DIR / chapter.name


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="report notebooks that need syncing; change nothing")
    args = p.parse_args()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    cell = install_cell(config)
    markdown = ColabMarkdown(ROOT, config)
    stale = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        text = path.read_text()
        book = synced(json.loads(text), cell)
        new = json.dumps(book, indent=1, ensure_ascii=False) + "\n"
        colab = colab_path(ROOT, path)
        colab_new = json.dumps(colab_edition(book, markdown), indent=1, ensure_ascii=False) + "\n"
        for target, content in ((path, new), (colab, colab_new)):
            if not target.is_file() or target.read_text() != content:
                stale.append(target.relative_to(ROOT))
                if not args.check:
                    target.parent.mkdir(exist_ok=True)
                    target.write_text(content)
    if stale:
        verb = "need syncing (run python scripts/sync_notebooks.py)" if args.check else "synced"
        print(f"{len(stale)} notebook(s) {verb}: " + ", ".join(map(str, stale)))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
