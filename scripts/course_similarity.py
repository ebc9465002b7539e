"""How alike two pieces of answer code are, names aside: flags for the instructor, never a verdict.

Code is compared by its anonymous shape (:func:`tokens`): the syntax tree in source order with every
variable, argument and function name replaced by one placeholder and docstrings dropped, keeping the
attributes it calls (``torch.logsumexp``), its constants and its keywords. Two token lists are compared
with :class:`difflib.SequenceMatcher`: a statement added, removed or changed costs a few tokens of the
ratio, so a copy with a few dead lines (``_unused = 0``) stays above the thresholds below, and the share of
the original found in order (containment) catches one padded with many.

The thresholds were measured (December 2026) on 958 answer functions written by three students who
never saw the answer key: against the key's and the package's functions of 66 tokens or more, the most
alike honest answer scored 0.71 and held at most 0.68 of one; shorter functions (a ``F.cross_entropy`` call, a ``linear_sum_assignment`` loop) are
written alike by everyone (honest answers up to 0.97), so only an exact copy of those is flagged.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Iterable

KEY_COPY_NODES = 40
"""A function is compared with the answer key's only from this many syntax-tree nodes on: shorter ones (a single
``return F.cross_entropy(logits, c)``) are written the same way by students who never saw the key."""
KEY_LIKE_TOKENS = 66
"""A key function this long (in :func:`tokens`) is also matched by likeness, not only exactly."""
KEY_LIKE_RATIO = 0.85
"""Likeness from which an answer function counts as a reworded copy of a key function of :data:`KEY_LIKE_TOKENS`."""
KEY_CONTAINED = 0.97
"""Share of a key function of :data:`KEY_LIKE_TOKENS` found, in order, in an answer function, from which the answer
counts as a padded copy of it (dead lines and extra steps added); honest answers held at most 0.68 of one (958
functions of three blind students, December 2026)."""
SUBMISSION_MIN_TOKENS = 150
"""Two submissions are compared over the exercises both answered with code at least this long in all."""
SUBMISSION_RATIO = 0.9
"""Likeness of two submissions' answers (or of one and the worked solutions) from which both are flagged."""
SUBMISSION_CONTAINED = 0.97
"""Share of the shorter submission's code found, in order, in the other's, from which both are flagged: a copy
padded with dead lines and extra steps keeps nearly all of its source (0.99 to 1.00 in the seventh cheating
instructor's term), while a submission written to the same worked solutions shared at most 0.91 with them."""


class _Anonymous(ast.NodeTransformer):
    """Names of variables, arguments and functions replaced by one placeholder, docstrings dropped: what stays is
    the code's shape, its calls' attributes (torch.logsumexp) and its constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id="_", ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.copy_location(ast.arg(arg="_", annotation=None), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        body = node.body[1:] if (node.body and isinstance(node.body[0], ast.Expr) and isinstance(
            node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)) else node.body
        node = ast.FunctionDef(name="_", args=node.args, body=body or [ast.Pass()], decorator_list=[], returns=None,
                               type_params=[], lineno=node.lineno)
        self.generic_visit(node)
        return node


def shape(fn: ast.FunctionDef) -> str:
    """The function's anonymous shape as one string: equal for two functions that differ only in names and
    docstrings."""
    return ast.dump(_Anonymous().visit(ast.parse(ast.unparse(fn)).body[0]), annotate_fields=False)


def tokens(fn: ast.FunctionDef) -> list[str]:
    """The function's anonymous shape as a list of tokens in source order, one per syntax-tree node."""
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        token = type(node).__name__
        if isinstance(node, ast.Attribute):
            token += "." + node.attr
        elif isinstance(node, ast.Constant):
            token += repr(node.value)[:20]
        elif isinstance(node, ast.keyword):
            token += f"={node.arg}"
        out.append(token)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context):
                visit(child)

    visit(_Anonymous().visit(ast.parse(ast.unparse(fn)).body[0]))
    return out


def matched(a: list[str], b: list[str]) -> int:
    """How many tokens of ``a`` and ``b`` match, in order (difflib's matching blocks)."""
    return sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())


def likeness(a: list[str], b: list[str]) -> float:
    """How alike two token lists are, from 0 to 1 (difflib's ratio: twice the matched tokens over both lengths)."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() >= 0.5 and matcher.quick_ratio() >= 0.5 else 0.0


def parse(source: str) -> ast.Module | None:
    """A cell's syntax tree (IPython's ``%`` and ``!`` lines blanked), or None where it does not parse."""
    try:
        return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                   for line in source.splitlines()))
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested past the parser's limits: no tree
        return None


def long_functions(tree: ast.AST) -> list[ast.FunctionDef]:
    """Every function in the tree of at least :data:`KEY_COPY_NODES` nodes."""
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and sum(1 for _ in ast.walk(n)) >= KEY_COPY_NODES]


class Key:
    """The functions of some reference files (the checkers' answer key, the package's own modules), to tell a copy
    of one in an answer; ``files`` are (whose, path) pairs, e.g. ("the answer key's", .../foundations.py)."""

    def __init__(self, files: Iterable[tuple[str, Path]]) -> None:
        self.exact: dict[str, str] = {}
        self.alike: list[tuple[str, list[str]]] = []
        for whose, path in files:
            for fn in long_functions(ast.parse(path.read_text(encoding="utf8"))):
                where = f"{whose} {path.name}: {fn.name}"
                self.exact.setdefault(shape(fn), where)
                seq = tokens(fn)
                if len(seq) >= KEY_LIKE_TOKENS:
                    self.alike.append((where, seq))

    def copy_of(self, fn: ast.FunctionDef) -> str | None:
        """"the answer key's X up to names", "N% like the package's X" or "holds N% of X, in order" for a copy of a
        key function, else None (only for functions of :data:`KEY_COPY_NODES` nodes or more)."""
        if sum(1 for _ in ast.walk(fn)) < KEY_COPY_NODES:
            return None
        try:
            where, seq = self.exact.get(shape(fn)), tokens(fn)
        except (RecursionError, MemoryError, ValueError):  # nested past ast.unparse's limits: no shape to compare
            return None
        if where:
            return f"{where} up to names"
        for where, key in self.alike:
            if likeness(seq, key) == 0.0 and len(seq) < len(key):  # (too unlike to hold it, by the quick bounds)
                continue
            m = matched(seq, key)
            if 2 * m / (len(seq) + len(key)) >= KEY_LIKE_RATIO:
                return f"{2 * m / (len(seq) + len(key)):.0%} like {where}"
            if m / len(key) >= KEY_CONTAINED:
                return f"holds {m / len(key):.0%} of {where}, in order"
        return None


def answer_tokens(answers: dict[str, str]) -> dict[str, list[str]]:
    """Exercise label -> the tokens of the long functions its answer cell defines (a stub or a one-line answer
    has none and is left out)."""
    out = {}
    for label, source in answers.items():
        tree = parse(source)
        try:
            seq = [t for fn in (long_functions(tree) if tree else []) for t in tokens(fn)]
        except (RecursionError, MemoryError, ValueError):
            seq = []
        if seq:
            out[label] = seq
    return out


def alike_submissions(submissions: dict[str, dict[str, str]], solutions: dict[str, str],
                      solutions_name: str = "the worked solutions") -> dict[str, list[str]]:
    """Student -> review flags, one for each other student (and for ``solutions``) whose answers are at least
    :data:`SUBMISSION_RATIO` alike, or of whom one holds :data:`SUBMISSION_CONTAINED` of the other's code in order,
    over the exercises both answered with long enough code."""
    seqs = {name: answer_tokens(answers) for name, answers in submissions.items()}
    reference = answer_tokens(solutions)
    flags: dict[str, list[str]] = {name: [] for name in submissions}
    names = sorted(seqs)

    def compare(a: dict[str, list[str]], b: dict[str, list[str]]) -> tuple[str | None, int]:
        """'N %' (how alike, or how much of the shorter is in the other) where the two are flagged, else None."""
        common = sorted(set(a) & set(b))
        left = [t for label in common for t in a[label]]
        right = [t for label in common for t in b[label]]
        if min(len(left), len(right)) < SUBMISSION_MIN_TOKENS:
            return None, len(common)
        m = matched(left, right)
        ratio, contained = 2 * m / (len(left) + len(right)), m / min(len(left), len(right))
        if ratio >= SUBMISSION_RATIO:
            return f"{ratio:.0%} alike", len(common)
        if contained >= SUBMISSION_CONTAINED:
            return f"{contained:.0%} of the shorter one's code in the other, in order", len(common)
        return None, len(common)

    found: dict[str, list[str]] = {name: [] for name in names}
    for i, name in enumerate(names):
        how, n = compare(seqs[name], reference)
        if how:
            flags[name].append(f"answers like {solutions_name} ({how}; {n} exercises)")
        for other in names[i + 1:]:
            how, n = compare(seqs[name], seqs[other])
            if how:
                found[name].append(f"{other} ({how}; {n} exercises)")
                found[other].append(f"{name} ({how}; {n} exercises)")
    for name, others in found.items():
        if others:
            flags[name].append(f"answers alike those of {len(others)} other student(s): {', '.join(others)}")
    return flags
