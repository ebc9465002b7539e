"""The hidden tests of course/hidden_tests/: the book's solutions pass them, the blank stubs and a typical
mistake fail them with ExerciseFailed, and every exercise of chapters 8 and 9 has one."""

import json
import sys
from pathlib import Path

import pytest

import infogan_tutorial.exercises as ex

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "course" / "hidden_tests"
pytest.importorskip("docutils", reason="reading the gated solutions needs the book extras: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
from course_notebooks import solution_code, text  # noqa: E402

BOOKS = {p: json.loads(p.read_text()) for p in sorted((ROOT / "book").glob("0[89]_exercises_*.ipynb"))}
LABELS = {label: (path, name) for path, nb in BOOKS.items() for name, (label, _) in solution_code(nb).items()}


def namespace(path: Path, solved: bool) -> dict:
    """The notebook's import cell, then (if ``solved``) every solution, else every stub."""
    nb = BOOKS[path]
    ns: dict = {}
    setup = next(text(c) for c in nb["cells"] if c["cell_type"] == "code" and "from infogan_tutorial" in text(c))
    exec(compile(setup, f"{path.name}:setup", "exec"), ns)
    for name, (label, code) in solution_code(nb).items():
        stub = next(text(c) for c in nb["cells"] if c["cell_type"] == "code" and f"def {name}(" in text(c)
                    and "NotImplementedError" in text(c))
        exec(compile(code if solved else stub, f"{path.name}:{label}", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def spaces():
    return {(p, solved): namespace(p, solved) for p in BOOKS for solved in (True, False)}


def test_every_exercise_has_hidden_tests_and_nothing_else_is_there():
    assert sorted(p.stem for p in HIDDEN.glob("*.py")) == sorted(LABELS)
    assert len(LABELS) == 11


@pytest.mark.parametrize("label", sorted(LABELS))
def test_solution_passes_the_hidden_cases_and_the_stub_fails_them(label, spaces, capsys):
    path, name = LABELS[label]
    code = compile((HIDDEN / f"{label}.py").read_text(), f"hidden/{label}", "exec")
    exec(code, dict(spaces[(path, True)]))
    assert capsys.readouterr().out.startswith("✓ ") and "hidden" not in name
    with pytest.raises(ex.ExerciseFailed, match="not implemented yet"):
        exec(code, dict(spaces[(path, False)]))


def test_a_mistake_the_visible_cases_miss_is_caught_by_the_hidden_ones(spaces, capsys):
    """Entropy that only knows ranges starting at -1 or 0 passes the book's cases, not the hidden ones."""
    path = next(p for p in BOOKS if "08_" in p.name)
    ns = dict(spaces[(path, True)])
    exec("def code_entropy(spec):\n"
         "    low, high = spec.continuous_range\n"
         "    width = high - low if low in (-1.0, 0.0, -3.0, 0.5, -4.0, 2.0, 1.0, 1e8) else 2.0\n"
         "    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(width)\n", ns)
    assert ex.check_code_entropy(ns["code_entropy"]).passed
    with pytest.raises(ex.ExerciseFailed):
        exec((HIDDEN / "ex-code-entropy.py").read_text(), ns)


SUBTLE = {  # wrong answers the visible checks refuse; the hidden cases must refuse them too (issue 24)
    "ex-categorical-info-loss": ("08_", (  # no max-shift: overflows
        "def categorical_info_loss(logits, c):\n"
        "    log_norm = logits.exp().sum(dim=1).log()\n"
        "    return -(logits.gather(1, c[:, None]).squeeze(1) - log_norm).mean()\n")),
    "ex-code-entropy": ("08_", (  # forgets the categorical codes when there is no continuous one
        "def code_entropy(spec):\n"
        "    low, high = spec.continuous_range\n"
        "    if not spec.n_continuous:\n"
        "        return 0.0\n"
        "    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)\n")),
    "ex-lambda": ("09_", (
        "def generator_objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont):\n"
        "    adversarial = -torch.log(torch.sigmoid(fake_logit)).mean()  # underflows\n"
        "    lq = log_q(q, codes, spec)\n"
        "    return adversarial - lambda_cat * lq.categorical - lambda_cont * lq.continuous\n")),
    "ex-gaussian-log-likelihood": ("08_", (  # sigma formed: inf for log_std = 95
        "def gaussian_log_likelihood(c, mean, log_std):\n"
        "    sigma = log_std.exp()\n"
        "    return -0.5 * ((c - mean) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)\n")),
    "ex-info-bound": ("08_", (  # torch.distributions.Normal(mean, exp(log_std)): sigma overflows
        "def mutual_info_bound(q, codes, spec):\n"
        "    total = 0.0\n"
        "    for i, logits in enumerate(q.logits):\n"
        "        total = total + torch.log_softmax(logits, 1).gather(1, codes.categorical[:, i:i + 1]).mean()\n"
        "    if spec.n_continuous:\n"
        "        normal = torch.distributions.Normal(q.mean, q.log_std.exp())\n"
        "        total = total + normal.log_prob(codes.continuous).sum(1).mean()\n"
        "    low, high = spec.continuous_range\n"
        "    return total + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)\n")),
    "ex-third-code": ("09_", (  # the same Normal, per code
        "def per_code_info(q, codes, spec):\n"
        "    low, high = spec.continuous_range\n"
        "    normal = torch.distributions.Normal(q.mean, q.log_std.exp())\n"
        "    return normal.log_prob(codes.continuous).mean(0) + math.log(high - low)\n")),
    "ex-invariant": ("09_", (  # 0 log 0 = nan
        "def invariant_information(p, p_moved):\n"
        "    joint = p.T @ p_moved / p.shape[0]\n"
        "    joint = (joint + joint.T) / 2\n"
        "    rows, cols = joint.sum(dim=1), joint.sum(dim=0)\n"
        "    return (joint * (joint.log() - rows.log()[:, None] - cols.log()[None, :])).sum()\n")),
}


@pytest.mark.parametrize("label", sorted(SUBTLE))
def test_a_form_the_visible_check_refuses_is_refused_by_the_hidden_cases_too(label, spaces, capsys):
    """Overflow, no continuous code, 0 log 0: what the notebook's check catches, grading catches as well."""
    chapter, answer = SUBTLE[label]
    path = next(p for p in BOOKS if p.name.startswith(chapter))
    ns = dict(spaces[(path, True)])
    exec(answer, ns)
    name = answer.split("(", 1)[0].removeprefix("def ")
    assert not getattr(ex, f"check_{name}")(ns[name]).passed  # the visible check refuses it
    with pytest.raises(ex.ExerciseFailed):
        exec((HIDDEN / f"{label}.py").read_text(), ns)
