"""Sphinx extension: make sphinx-exercise's ``hide_solutions`` remove *gated* solutions.

A notebook's solution code cannot sit inside a ``{solution}`` directive, so the book uses
sphinx-exercise's gated form: a markdown cell with ```{solution-start} ex-label```, the
solution's code cells, and a markdown cell with ```{solution-end}```. In sphinx-exercise
1.2, ``hide_solutions = True`` does not work for that form: ``SolutionStartDirective.run``
returns no node at all, so ``MergeGatedSolutions`` never sees the start, the code cells
after it stay in the page, and the leftover ``solution_end_node`` crashes the HTML writer
("departing unknown node type: solution_end_node"; executablebooks/sphinx-exercise#89,
open). The same happens for ``:hidden:`` on a gated ``{solution-start}``.

With ``hide_solutions`` on (or ``:hidden:`` given), this extension:

1. replaces each ``{solution-start}`` by a marker (after the original directive has done
   its bookkeeping, so sphinx-exercise's structure checks still run);
2. removes the marker, everything after it and the matching ``{solution-end}`` from the
   page, before sphinx-exercise's transforms (so neither the code nor its output is shown,
   indexed for search, or left as a stray node);
3. after the build, rewrites the notebooks copied to ``_sources/`` without their solution
   cells, so the page's download button gives students the exercise notebook.

With ``hide_solutions`` off it changes nothing. Used by ``scripts/build_book.py --student``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

_START = re.compile(r"^\s*(```+|:::+)\{solution-start\}\s+(\S+)")
_END = re.compile(r"^\s*(```+|:::+)\{solution-end\}")


class hidden_solution(nodes.Element):  # noqa: N801 - docutils node classes are lower case
    """Marks where a hidden gated solution starts; removed before the page is written."""


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def solution_blocks(nb: dict) -> dict[str, list[dict]]:
    """The cells of each gated solution, by the exercise label it names (markers excluded)."""
    blocks: dict[str, list[dict]] = {}
    label: str | None = None
    for cell in nb["cells"]:
        text = _cell_source(cell) if cell["cell_type"] == "markdown" else ""
        start, end = _START.match(text), _END.match(text)
        if start:
            if label is not None:
                raise ValueError(f"solution for {label!r} is not closed before the solution for {start.group(2)!r}")
            label = start.group(2)
            blocks[label] = []
        elif end:
            if label is None:
                raise ValueError("a {solution-end} cell without a {solution-start} cell before it")
            label = None
        elif label is not None:
            blocks[label].append(cell)
    if label is not None:
        raise ValueError(f"the solution for {label!r} has no {{solution-end}} cell")
    return blocks


def strip_solutions(nb: dict) -> dict:
    """A copy of notebook ``nb`` without its gated solutions (start cell, solution cells, end cell)."""
    solution_blocks(nb)  # validates the structure
    kept, inside = [], False
    for cell in nb["cells"]:
        text = _cell_source(cell) if cell["cell_type"] == "markdown" else ""
        if _START.match(text):
            inside = True
        elif _END.match(text):
            inside = False
        elif not inside:
            kept.append(copy.deepcopy(cell))
    return {**copy.deepcopy({k: v for k, v in nb.items() if k != "cells"}), "cells": kept}


def _hiding(app: Sphinx) -> bool:
    return bool(app.config.hide_solutions)


def _make_directive(base: type) -> type:
    class HideableSolutionStart(base):  # type: ignore[misc, valid-type]
        """sphinx-exercise's ``solution-start``, leaving a marker when the solution is hidden."""

        def run(self) -> list[nodes.Node]:
            result = super().run()
            if _hiding(self.env.app) or "hidden" in self.options:
                marker = hidden_solution()
                self.set_source_info(marker)
                return [marker]
            return result

    return HideableSolutionStart


class RemoveHiddenSolutions(SphinxTransform):
    """Delete each marker, the nodes after it and the next ``solution_end_node`` (same parent)."""

    default_priority = 5  # after sphinx-exercise's structure check (1), before its merge (10)

    def apply(self, **kwargs: Any) -> None:
        from sphinx_exercise.nodes import solution_end_node

        for marker in list(self.document.findall(hidden_solution)):
            parent = marker.parent
            i = parent.index(marker)
            end = next((j for j in range(i + 1, len(parent)) if isinstance(parent[j], solution_end_node)), None)
            if end is None:
                logger.warning("hidden {solution-start} without a {solution-end} at the same level "
                               "(is there a heading between them?); nothing was removed", location=marker)
                parent.remove(marker)
                continue
            del parent[i:end + 1]


def _strip_copied_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Rewrite ``_sources/**/*.ipynb`` (what the download button serves) without solutions."""
    if exception is not None or not _hiding(app):
        return
    for path in sorted((Path(app.outdir) / "_sources").rglob("*.ipynb*")):
        nb = json.loads(path.read_text(encoding="utf8"))
        if solution_blocks(nb):
            path.write_text(json.dumps(strip_solutions(nb), indent=1, ensure_ascii=False) + "\n", encoding="utf8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")
    from sphinx_exercise.directive import SolutionStartDirective

    app.add_directive("solution-start", _make_directive(SolutionStartDirective), override=True)
    app.add_node(hidden_solution)
    app.add_transform(RemoveHiddenSolutions)
    app.connect("build-finished", _strip_copied_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
