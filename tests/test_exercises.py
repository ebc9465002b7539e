"""The exercises: reference solutions (taken from the notebooks) pass, blank stubs and typical wrong answers
fail with the intended explanation, and the student build's helpers remove the solutions."""

import json
import math
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

import infogan_tutorial.exercises as ex
from infogan_tutorial.exercises import experiments as ex9
from infogan_tutorial.exercises import foundations as ex8
from infogan_tutorial.latent_codes import Codes
from infogan_tutorial.objectives import gaussian_log_likelihood, info_loss, log_q

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("docutils", reason="the student-build helpers need the book extras: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from build_book import EXTENSIONS, student_config  # noqa: E402
from hide_gated_solutions import solution_blocks, strip_solutions  # noqa: E402

FOUNDATIONS = ROOT / "book" / "08_exercises_foundations.ipynb"
EXPERIMENTS = ROOT / "book" / "09_exercises_experiments.ipynb"

# exercise label -> (notebook, the function the student writes, its checker)
EXERCISES = {
    "ex-categorical-info-loss": (FOUNDATIONS, "categorical_info_loss", ex.check_categorical_info_loss),
    "ex-gaussian-log-likelihood": (FOUNDATIONS, "gaussian_log_likelihood", ex.check_gaussian_log_likelihood),
    "ex-code-entropy": (FOUNDATIONS, "code_entropy", ex.check_code_entropy),
    "ex-info-bound": (FOUNDATIONS, "mutual_info_bound", ex.check_mutual_info_bound),
    "ex-traversal": (FOUNDATIONS, "traversal_codes", ex.check_traversal_codes),
    "ex-hungarian": (FOUNDATIONS, "matched_accuracy", ex.check_matched_accuracy),
    "ex-third-code": (EXPERIMENTS, "per_code_info", ex.check_per_code_info),
    "ex-lambda": (EXPERIMENTS, "generator_objective", ex.check_generator_objective),
    "ex-control": (EXPERIMENTS, "control_info_loss", ex.check_control_info_loss),
    "ex-fashion": (EXPERIMENTS, "per_class_accuracy", ex.check_per_class_accuracy),
    "ex-invariant": (EXPERIMENTS, "invariant_information", ex.check_invariant_information),
}


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def setup_namespace(path: Path) -> dict:
    """Run the notebook's import cell (the first code cell that imports the package)."""
    ns: dict = {}
    setup = next(text(c) for c in cells(path) if c["cell_type"] == "code" and "from infogan_tutorial" in text(c))
    exec(compile(setup, f"{path.name}:setup", "exec"), ns)
    return ns


def solved_namespace(path: Path) -> dict:
    """The import cell, then every solution's code cells, in notebook order (later ones reuse earlier ones)."""
    ns = setup_namespace(path)
    for label, block in solution_blocks(json.loads(path.read_text())).items():
        for cell in block:
            if cell["cell_type"] == "code":
                exec(compile(text(cell), f"{path.name}:{label}", "exec"), ns)
    return ns


def stub_cell(path: Path, name: str) -> str:
    nb = cells(path)
    return next(text(c) for c in nb if c["cell_type"] == "code" and f"def {name}(" in text(c)
                and "NotImplementedError" in text(c))


@pytest.fixture(scope="module")
def solved() -> dict:
    return {path: solved_namespace(path) for path in (FOUNDATIONS, EXPERIMENTS)}


# -- the notebooks' structure ------------------------------------------------------------------

def test_every_exercise_has_a_directive_a_stub_a_gated_solution_and_a_check():
    for label, (path, name, checker) in EXERCISES.items():
        nb = cells(path)
        sources = [text(c) for c in nb]
        directive = next(i for i, s in enumerate(sources) if s.startswith("```{exercise}") and f":label: {label}" in s)
        stub = next(i for i, s in enumerate(sources) if f"def {name}(" in s and "NotImplementedError" in s)
        start = next(i for i, s in enumerate(sources) if s.startswith(f"```{{solution-start}} {label}\n"))
        end = next(i for i in range(start, len(sources)) if sources[i].startswith("```{solution-end}"))
        check = next(i for i, s in enumerate(sources) if f"{checker.__name__}({name})" in s)
        assert directive < stub < start < end < check, label
        assert ":class: dropdown" in sources[start], label
        assert nb[stub]["cell_type"] == nb[check]["cell_type"] == "code"
    assert len(EXERCISES) >= 8
    checkers = {n for n in ex.__all__ if n.startswith("check_")} - {"check_against"}
    assert {c.__name__ for *_, c in EXERCISES.values()} == checkers


def test_solution_blocks_hold_each_exercises_function():
    for label, (path, name, _) in EXERCISES.items():
        block = solution_blocks(json.loads(path.read_text()))[label]
        assert any(f"def {name}(" in text(c) for c in block if c["cell_type"] == "code"), label


# -- reference solutions, stubs, wrong answers ---------------------------------------------------

@pytest.mark.parametrize("label", EXERCISES)
def test_reference_solution_passes(label, solved, capsys):
    path, name, checker = EXERCISES[label]
    result = checker(solved[path][name])
    assert result.passed, result.message
    assert capsys.readouterr().out.startswith("✓ ")
    assert result.raise_if_failed() is result


@pytest.mark.parametrize("label", EXERCISES)
def test_blank_stub_is_not_implemented_yet(label, capsys):
    path, name, checker = EXERCISES[label]
    ns: dict = {}
    exec(stub_cell(path, name), ns)
    result = checker(ns[name])
    assert not result.passed and "not implemented yet" in result.message
    assert capsys.readouterr().out.startswith("✗ ")
    with pytest.raises(ex.ExerciseFailed, match="not implemented yet"):
        result.raise_if_failed()


def _tiled_traversal(spec, base, code, values):
    steps, rows = len(values), len(base)
    z, cat, cont = base.z.repeat(steps, 1), base.categorical.repeat(steps, 1), base.continuous.repeat(steps, 1)
    cont[:, spec.code_index(code) - spec.n_categorical] = values.repeat(rows)
    return Codes(z, cat, cont)


def _row_major_traversal(spec, base, code, values):
    steps, rows = len(values), len(base)
    z, cat, cont = (t.repeat_interleave(steps, 0) for t in (base.z, base.categorical, base.continuous))
    i = spec.code_index(code)
    target, j = (cat, i) if i < spec.n_categorical else (cont, i - spec.n_categorical)
    target[:, j] = values.repeat(rows).to(target.dtype)
    return Codes(z, cat, cont)


def _fresh_noise_traversal(spec, base, code, values):
    right = _row_major_traversal(spec, base, code, values)
    return Codes(torch.randn(right.z.shape, generator=torch.Generator().manual_seed(0)), right.categorical,
                 right.continuous)


def _transposed_traversal(spec, base, code, values):
    steps, rows = len(values), len(base)
    out = _tiled_traversal(spec, base, code, values)
    out.continuous[:, spec.code_index(code) - spec.n_categorical] = values.repeat_interleave(rows)
    return out


def _hungarian(clusters, labels):
    counts = np.zeros((10, 10))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return counts[rows, cols].sum() / len(labels)


def _majority(clusters, labels):
    return sum(np.bincount(labels[clusters == k]).max() for k in set(clusters.tolist())) / len(labels)


def _lq_parts(q, codes):
    """E[log Q] of the categorical and of the continuous codes, written by hand (the package's log_q and
    info_loss are off limits in chapter 8's bound and in G's objective)."""
    cat = sum((-F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits)), torch.zeros(()))
    cont = _gll(codes.continuous, q.mean, q.log_std).sum(1).mean() if q.mean.shape[1] else torch.zeros(())
    return cat, cont


def _info(q, codes, lc, lk):
    cat, cont = _lq_parts(q, codes)
    return -(lc * cat + lk * cont)


def _spec_entropy(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical), spec.n_continuous * math.log(high - low)


def _with_entropy(fl, q, codes, spec, lc, lk):
    cat_h, cont_h = _spec_entropy(spec)
    return F.softplus(-fl).mean() + _info(q, codes, lc, lk) - lc * cat_h - lk * cont_h


def _no_grad_control(D, fake, codes, spec):
    with torch.no_grad():
        return info_loss(D.q(fake), codes, spec)


def _iic_without_clamp(p, q):
    joint = p.T @ q / len(p)
    joint = (joint + joint.T) / 2
    marginal = joint.sum(1)
    return (joint * torch.log(joint / (marginal[:, None] * marginal[None, :]))).sum()


def _iic_per_image_sum(p, q):
    joint = p.T @ q
    joint = ((joint + joint.T) / 2).clamp_min(1e-12)
    return (joint * (joint.log() - joint.sum(1).log()[:, None] - joint.sum(0).log()[None, :])).sum()


WRONG = [  # (checker, a wrong answer written as a student might, part of the expected explanation)
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(F.softmax(lg, 1), c), "softmax was applied"),
    (ex.check_categorical_info_loss, lambda lg, c: F.log_softmax(lg, 1).gather(1, c[:, None]).mean(), "wrong sign"),
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(lg, c, reduction="sum"), "sums over the batch"),
    (ex.check_categorical_info_loss, lambda lg, c: -torch.log2(F.softmax(lg, 1).gather(1, c[:, None])).mean(),
     "log base 2"),
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(lg, c, reduction="none"), "one loss per image"),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: -0.5 * ((c - m) / s.exp()) ** 2, "squared error"),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: -F.mse_loss(c, m, reduction="none"), "squared error"),
    (ex.check_gaussian_log_likelihood,
     lambda c, m, s: torch.distributions.Normal(m, s.exp().sqrt()).log_prob(c), "log of the variance"),
    (ex.check_gaussian_log_likelihood,
     lambda c, m, s: torch.distributions.Normal(m, s.exp()).log_prob(c).sum(-1), "wrong shape"),
    (ex.check_code_entropy, lambda spec: sum(math.log2(k) for k in spec.categorical)
     + spec.n_continuous * math.log2(spec.continuous_range[1] - spec.continuous_range[0]), "log base 2"),
    (ex.check_code_entropy, lambda spec: float(sum(math.log(k) for k in spec.categorical)),
     "continuous codes are missing"),
    (ex.check_code_entropy, lambda spec: sum(map(math.log, spec.categorical)) + spec.n_continuous * math.log(2),
     "range (-1, 1) was assumed"),
    (ex.check_mutual_info_bound, lambda q, codes, spec: sum(_lq_parts(q, codes)), "H(c) is missing"),
    (ex.check_mutual_info_bound, lambda q, codes, spec: _info(q, codes, 1.0, 1.0), "information loss"),
    (ex.check_mutual_info_bound, lambda q, codes, spec: _lq_parts(q, codes)[0] + _spec_entropy(spec)[0],
     "only the categorical codes"),
    (ex.check_traversal_codes, _tiled_traversal, "changes within a row"),
    (ex.check_traversal_codes, _fresh_noise_traversal, "noise z changes within a row"),
    (ex.check_traversal_codes, _transposed_traversal, "transposed"),
    (ex.check_matched_accuracy, lambda c, lab: float((c == lab).mean()), "no matching"),
    (ex.check_matched_accuracy, _majority, "one-to-one"),
    (ex.check_matched_accuracy, lambda c, lab: 1 - _hungarian(c, lab), "error rate"),
    (ex.check_per_code_info, lambda q, codes, spec: (gaussian_log_likelihood(codes.continuous, q.mean, q.log_std)
                                                     .mean(0) + math.log(2)).sum(), "shape (3,)"),
    (ex.check_per_code_info, lambda q, codes, spec: torch.distributions.Normal(q.mean, q.log_std.exp())
     .log_prob(codes.continuous).mean(0), "entropy h(c_j)"),
    (ex.check_generator_objective, lambda fl, q, codes, spec, lc, lk: F.softplus(-fl).mean()
     + lc * log_q(q, codes, spec).categorical + lk * log_q(q, codes, spec).continuous, "wrong sign"),
    (ex.check_generator_objective, lambda fl, q, codes, spec, lc, lk: -F.softplus(fl).mean()
     + _info(q, codes, lc, lk), "saturating"),
    (ex.check_generator_objective, _with_entropy, "lambda * H(c)"),
    (ex.check_control_info_loss, lambda D, fake, codes, spec: info_loss(D.q(fake), codes, spec),
     "InfoGAN's information term"),
    (ex.check_control_info_loss, lambda D, fake, codes, spec: info_loss(D.q(fake.detach()), codes, spec),
     "reaches D's shared body"),
    (ex.check_control_info_loss, _no_grad_control, "no gradient reaches Q's head"),
    (ex.check_per_class_accuracy, lambda m: np.diag(m) / m.sum(0), "column sums"),
    (ex.check_per_class_accuracy, lambda m: np.diag(m), "counts"),
    (ex.check_per_class_accuracy, lambda m: np.full(len(m), np.trace(m) / m.sum()), "overall accuracy"),
    (ex.check_invariant_information, lambda p, q: (p * q).sum(1).mean(), "agreement"),
    (ex.check_invariant_information, _iic_without_clamp, "0 * log 0"),
    (ex.check_invariant_information, _iic_per_image_sum, "divided by the number of images"),
    (ex.check_invariant_information, lambda p, q: torch.nn.functional.kl_div(q.log(), p, reduction="batchmean"),
     "wrong value"),
]


@pytest.mark.parametrize("checker, answer, explanation", WRONG,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(WRONG)])
def test_typical_wrong_answer_is_explained(checker, answer, explanation, capsys):
    result = checker(answer)
    assert not result.passed
    assert explanation in result.message, result.message
    assert capsys.readouterr().out.strip() == str(result)


def test_at_least_two_wrong_answers_per_checker():
    counts = {c: sum(1 for w, *_ in WRONG if w is c) for *_, c in EXERCISES.values()}
    assert min(counts.values()) >= 2, counts


TABLES = [ex8._categorical_info_loss_exercise, ex8._gaussian_log_likelihood_exercise, ex8._code_entropy_exercise,
          ex8._mutual_info_bound_exercise, ex8._traversal_codes_exercise, ex8._matched_accuracy_exercise,
          ex9._per_code_info_exercise, ex9._generator_objective_exercise, ex9._control_info_loss_exercise,
          ex9._per_class_accuracy_exercise, ex9._invariant_information_exercise]


@pytest.mark.parametrize("table", TABLES, ids=[t.__name__ for t in TABLES])
def test_each_listed_mistake_gets_its_own_explanation(table, capsys):
    exercise = table()
    for mistake in exercise.mistakes:
        result = ex.check_against(mistake.answer, exercise, answer_key_ok=True)
        assert not result.passed and mistake.explanation in result.message, (mistake.explanation, result.message)


@pytest.mark.parametrize("table, right", [
    (ex8._categorical_info_loss_exercise, ex8._categorical_loss),
    (ex8._gaussian_log_likelihood_exercise, ex8.gaussian_ll),
    (ex8._code_entropy_exercise, ex8._entropy),
    (ex8._mutual_info_bound_exercise, ex8._info_bound),
    (ex8._traversal_codes_exercise, ex8._traversal),
    (ex9._generator_objective_exercise, ex9._generator_objective),
    (ex9._invariant_information_exercise, ex9._invariant_info),
], ids=lambda v: getattr(v, "__name__", ""))
def test_mistake_generators_with_no_switch_give_the_packages_answer(table, right, capsys):
    """The mistakes are switches on one implementation; with every switch off it must be right."""
    assert ex.check_against(partial(right), table(), answer_key_ok=True).passed


def test_invariant_information_exercise_computes_what_the_training_step_maximises():
    from infogan_tutorial.networks import QOutput
    from infogan_tutorial.objectives import invariant_information

    g = torch.Generator().manual_seed(5)
    a, b = 3 * torch.randn(40, 10, generator=g), 3 * torch.randn(40, 10, generator=g)
    empty = torch.zeros(40, 0)
    package = invariant_information(QOutput([a], empty, empty), QOutput([b], empty, empty))
    assert ex9._invariant_info(a.softmax(1), b.softmax(1)).item() == pytest.approx(package.item(), abs=1e-5)


# -- the checkers never crash on a broken answer ------------------------------------------------

def test_an_error_in_the_students_code_is_reported_not_raised(capsys):
    def broken(logits, c):
        return logits @ c  # shapes do not fit

    result = ex.check_categorical_info_loss(broken)
    assert not result.passed and "raised RuntimeError" in result.message


def test_a_missing_return_is_named(capsys):
    def forgot(logits, c):
        F.cross_entropy(logits, c)

    assert "forget the `return`" in ex.check_categorical_info_loss(forgot).message


def test_changing_an_input_in_place_is_reported(capsys):
    def in_place(spec, base, code, values):
        base.continuous[:, 0] = 0.0
        return _row_major_traversal(spec, base, code, values)

    assert "changed its inputs in place" in ex.check_traversal_codes(in_place).message


def test_an_unknown_wrong_value_shows_expected_and_actual(capsys):
    result = ex.check_code_entropy(lambda spec: 1.0)
    assert not result.passed and "expected 3.6889, got 1.0000" in result.message


def test_the_result_shows_nothing_extra_in_a_notebook():
    result = ex.CheckResult(True, "fine")
    assert result._ipython_display_() is None and str(result) == "✓ fine"


# -- the student build ---------------------------------------------------------------------------

def test_strip_solutions_keeps_exercises_stubs_and_checks_but_no_solution_code():
    nb = json.loads(FOUNDATIONS.read_text())
    stripped = strip_solutions(nb)
    sources = [text(c) for c in stripped["cells"]]
    code = [text(c) for c in stripped["cells"] if c["cell_type"] == "code"]
    assert not any("{solution-start}" in s or "{solution-end}" in s for s in sources)
    assert not any("F.log_softmax(logits, dim=1)" in s for s in sources)  # from the first solution
    assert sum("raise NotImplementedError(" in s for s in code) == 6
    assert sum(s.startswith("# NBVAL_CHECK_OUTPUT\ncheck_") for s in code) == 6
    removed = sum(len(b) + 2 for b in solution_blocks(nb).values())
    assert len(stripped["cells"]) == len(nb["cells"]) - removed
    assert stripped["metadata"] == nb["metadata"]


def test_solution_blocks_reject_an_unclosed_solution():
    start = {"cell_type": "markdown", "source": "```{solution-start} ex-a\n```"}
    with pytest.raises(ValueError, match="no {solution-end}"):
        solution_blocks({"cells": [start]})


def test_student_config_only_adds_the_hiding():
    config = {"title": "T", "sphinx": {"config": {"nitpicky": False}, "extra_extensions": ["sphinx_exercise"]},
              "launch_buttons": {"colab_url": "https://colab.research.google.com", "notebook_interface": "classic"}}
    cfg = student_config(config)
    assert cfg["sphinx"]["config"] == {"nitpicky": False, "hide_solutions": True}
    assert cfg["sphinx"]["local_extensions"] == {"hide_gated_solutions": str(EXTENSIONS)}
    assert (EXTENSIONS / "hide_gated_solutions.py").is_file()
    assert cfg["launch_buttons"] == {"colab_url": "", "notebook_interface": "classic"}
    assert cfg["title"] == "T" and config["sphinx"]["config"] == {"nitpicky": False}  # the input is untouched


def test_student_config_drops_viewcode_whose_pages_show_the_checkers_source():
    config = {"sphinx": {"extra_extensions": ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "sphinx_exercise"]}}
    assert student_config(config)["sphinx"]["extra_extensions"] == ["sphinx.ext.autodoc", "sphinx_exercise"]
    assert "sphinx.ext.viewcode" in config["sphinx"]["extra_extensions"]  # the instructor's book keeps it


def test_student_config_keeps_the_book_s_extensions_found_from_its_temporary_folder():
    config = {"sphinx": {"local_extensions": {"infogan_site": "book/_ext"}}}
    local = student_config(config)["sphinx"]["local_extensions"]
    assert local["infogan_site"] == str(EXTENSIONS) and EXTENSIONS.is_dir()
    assert config["sphinx"]["local_extensions"] == {"infogan_site": "book/_ext"}


def test_student_config_points_colab_at_the_released_notebooks():
    config = {"repository": {"url": "https://github.com/org/book", "branch": "main"},
              "launch_buttons": {"colab_url": "https://colab.research.google.com"}}
    cfg = student_config(config, "https://github.com/org/coursework", "spring")
    assert cfg["repository"] == {"url": "https://github.com/org/coursework", "branch": "spring"}
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["repository"]["url"] == "https://github.com/org/book"


# -- the graded engine: time, forbidden calls, the answer key, inputs, dtypes, gradients, messages --------

def test_an_endless_loop_is_stopped_with_a_clear_message(monkeypatch, capsys):
    monkeypatch.setattr(ex.engine, "TIME_LIMIT", 0.5)

    def endless(spec):
        while True:
            pass

    result = ex.check_code_entropy(endless)
    assert not result.passed and "did not finish within 0.5 s" in result.message


def test_the_answer_key_and_the_package_function_are_refused_by_name(capsys):
    for answer in (ex8._entropy, ex8._code_entropy_exercise().reference, Codes.__len__):
        result = ex.check_code_entropy(answer)
        assert not result.passed and "answer key" in result.message, result.message
    result = ex.check_code_entropy(lambda spec: spec.entropy())
    assert "it calls spec.entropy()" in result.message
    result = ex.check_code_entropy(lambda spec: ex8._entropy(spec))
    assert "answer key (_entropy" in result.message


def test_a_forbidden_call_is_refused_even_when_its_error_is_swallowed(capsys):
    def sneaky(c, mean, log_std):
        try:
            from infogan_tutorial.objectives import gaussian_log_likelihood as g
            g(c, mean, log_std)
        except Exception:  # noqa: BLE001
            pass
        return torch.distributions.Normal(mean, log_std.exp()).log_prob(c)

    assert "gaussian_log_likelihood" in ex.check_gaussian_log_likelihood(sneaky).message


def test_vector_mismatch_names_the_worst_element_and_both_values(capsys):
    def off_at_one_place(confusion):
        out = np.diag(confusion) / np.sum(confusion, axis=1)
        out[1] += 0.25
        return out

    message = ex.check_per_class_accuracy(off_at_one_place).message
    assert "1 of 3 entries differ; the worst is at index (1,): expected 0.5000, got 0.7500" in message


def test_long_reprs_are_cut(capsys):
    class Huge:
        def __repr__(self):
            return "x" * 30_000

    message = ex.check_traversal_codes(lambda spec, base, code, values: Huge()).message
    assert len(message) < 400 and "Codes" in message


def test_an_exception_gives_its_line(capsys):
    def broken(spec):
        low, high = spec.continuous_range
        return math.log(high - low) / 0

    message = ex.check_code_entropy(broken).message
    line = broken.__code__.co_firstlineno + 2
    assert "ZeroDivisionError" in message and f"line {line}: return math.log(high - low) / 0" in message


def test_graded_mode_raises_and_hidden_cases_replace_the_table(capsys):
    from infogan_tutorial.latent_codes import LatentSpec

    wrong = ex.Case("hidden", lambda: (LatentSpec(noise_dim=2, categorical=(3, 3), n_continuous=0),))

    def first_code_only(spec):
        return math.log(spec.categorical[0])

    assert ex.check_code_entropy(first_code_only).passed is False
    with pytest.raises(ex.ExerciseFailed, match="only the first categorical code"):
        ex.check_code_entropy(first_code_only, graded=True, cases=[wrong])
    assert ex.check_code_entropy(lambda spec: sum(map(math.log, spec.categorical)), cases=[wrong]).passed


def test_two_wrong_answers_a_blind_student_found_are_refused():
    """A student who had not read the checkers found these two passing (session of 2026-12-01)."""
    from infogan_tutorial.exercises import check_per_class_accuracy, check_per_code_info

    def per_class_rematched(confusion):  # matches the columns again before reading the diagonal
        r, c = linear_sum_assignment(confusion, maximize=True)
        return confusion[r, c] / confusion.sum(1)

    def per_code_numpy(q, codes, spec):  # the right values, as a NumPy array without gradient
        low, high = spec.continuous_range
        ll = (-0.5 * math.log(2 * math.pi) - q.log_std
              - 0.5 * ((codes.continuous - q.mean) / q.log_std.exp()) ** 2)
        return (ll.mean(0) + math.log(high - low)).detach().numpy()

    result = check_per_class_accuracy(per_class_rematched)
    assert not result.passed and "matched to the rows again" in result.message
    result = check_per_code_info(per_code_numpy)
    assert not result.passed and "NumPy array" in result.message


# -- issue 25: answers away from the centre, off-usual ids and ranges, types, and honest messages -------------

def _gll(c, m, s):
    return -0.5 * math.log(2 * math.pi) - s - 0.5 * ((c - m) * torch.exp(-s)) ** 2


def _entropy_with(width):
    return lambda spec: (sum(math.log(k) for k in spec.categorical)
                         + spec.n_continuous * width(*spec.continuous_range))


def _counts(clusters, labels, k=10, dtype=float):
    counts = np.zeros((k, k), dtype=dtype)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def _matched(clusters, labels, k=10, dtype=float):
    counts = _counts(clusters, labels, k, dtype)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def _greedy(clusters, labels):
    counts, hits = _counts(clusters, labels), 0.0
    while counts.max() > 0:
        r, c = np.unravel_index(counts.argmax(), counts.shape)
        hits, counts[r], counts[:, c] = hits + counts[r, c], 0, 0
    return hits / len(labels)


def _balanced(clusters, labels):
    counts = _counts(clusters, labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    right = np.zeros(10)
    right[cols] = counts[rows, cols]
    used = counts.sum(0) > 0
    return float((right[used] / counts.sum(0)[used]).mean())


def _generator(adversarial):
    return lambda fl, q, codes, spec, lc, lk: adversarial(fl) + _info(q, codes, lc, lk)


def _traversal_through_views(spec, base, code, values):  # expand + reshape: a view for one step, writes into base
    rows, steps = len(base), len(values)
    grid = [t[:, None].expand(rows, steps, *t.shape[1:]).reshape(rows * steps, *t.shape[1:])
            for t in (base.z, base.categorical, base.continuous)]
    i = spec.code_index(code)
    target, j = (grid[1], i) if i < spec.n_categorical else (grid[2], i - spec.n_categorical)
    target[:, j] = values.repeat(rows).to(target.dtype)
    return Codes(*grid)


WRONG_25 = [  # (checker, a wrong answer a student wrote from the statement alone, part of the expected message)
    (ex.check_categorical_info_loss, lambda lg, c: -torch.log(F.softmax(lg, 1) + 1e-8).gather(1, c[:, None]).mean(),
     "small epsilon"),
    (ex.check_categorical_info_loss, lambda lg, c: -((lg - lg.max()).gather(1, c[:, None]).squeeze(1)
                                                     - (lg - lg.max()).exp().sum(1).log()).mean(), "whole batch"),
    (ex.check_categorical_info_loss, lambda lg, c: -torch.log(lg.exp() / lg.exp().sum(1, keepdim=True))
     .gather(1, c[:, None]).mean(), "without a shift"),
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(lg, c).item(), "answer is a torch tensor"),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: torch.log(torch.exp(-0.5 * ((c - m) / s.exp()) ** 2)
                                                                 / (math.sqrt(2 * math.pi) * s.exp())),
     "log of the density itself"),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: _gll(c, m, s).detach(), "carries no gradient"),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: torch.distributions.Normal(m, s.exp()).log_prob(c),
     "takes its log"),  # sigma = exp(100) is inf in float32: log(sigma) is inf
    (ex.check_gaussian_log_likelihood, lambda c, m, s: -0.5 * ((c - m) / s.exp()) ** 2 - s
     - 0.5 * math.log(2 * math.pi), "gradient with respect to log_std holds nan"),  # (c - m) / inf: inf * 0
    (ex.check_gaussian_log_likelihood, lambda c, m, s: _gll(c, m, s.detach()), "no gradient reaches log_std"),
    (ex.check_code_entropy, _entropy_with(lambda a, b: abs(math.log(b - a))), "absolute value |ln(high - low)|"),
    (ex.check_code_entropy, _entropy_with(lambda a, b: math.log(abs(a) + abs(b))), "|low| + |high|"),
    (ex.check_code_entropy, lambda spec: torch.tensor(_entropy_with(lambda a, b: math.log(b - a))(spec)),
     "answer is a float"),
    (ex.check_mutual_info_bound, lambda q, codes, spec: _lq_parts(q, codes)[0] + (
        torch.log(torch.exp(-0.5 * ((codes.continuous - q.mean) / q.log_std.exp()) ** 2)
                  / (math.sqrt(2 * math.pi) * q.log_std.exp())).sum(1).mean() if spec.n_continuous else 0)
     + sum(_spec_entropy(spec)), "returned -inf on a very sure Q"),
    (ex.check_traversal_codes, _traversal_through_views, "shares its memory with base"),
    (ex.check_traversal_codes, lambda spec, base, code, values: _row_major_traversal(
        spec, base, code, torch.linspace(float(values[0]), float(values[-1]), len(values)).to(values.dtype)),
     "unevenly spaced"),
    (ex.check_matched_accuracy, lambda c, lab: _matched(c, lab, k=int(lab.max()) + 1), "IndexError"),
    (ex.check_matched_accuracy, lambda c, lab: _matched(c, lab, k=len(np.unique(lab))), "IndexError"),
    (ex.check_matched_accuracy, lambda c, lab: _matched(c, lab, dtype=np.uint8), "wrapped around"),
    (ex.check_matched_accuracy, _greedy, "greedily"),
    (ex.check_matched_accuracy, _balanced, "balanced accuracy"),
    (ex.check_matched_accuracy, lambda c, lab: torch.tensor(_matched(c, lab)), "answer is a float"),
    (ex.check_per_code_info, lambda q, codes, spec: _gll(codes.continuous, q.mean, q.log_std).mean(0)
     + math.log(abs(spec.continuous_range[0]) + abs(spec.continuous_range[1])), "|low| + |high|"),
    (ex.check_per_code_info, lambda q, codes, spec: (_gll(codes.continuous, q.mean, q.log_std).mean(0)
                                                     + math.log(spec.continuous_range[1] - spec.continuous_range[0]))
     .detach(), "carries no gradient"),
    (ex.check_generator_objective, _generator(lambda fl: -torch.log(torch.sigmoid(fl)).mean()),
     "softplus(-fake_logit)"),
    (ex.check_generator_objective, _generator(lambda fl: -torch.log(1 - torch.sigmoid(-fl)).mean()),
     "softplus(-fake_logit)"),
    (ex.check_generator_objective, _generator(lambda fl: -torch.log(torch.sigmoid(fl) + 1e-8).mean()), "logits -1000"),
    # right until issue 25; now the statements of ex4 and ex7 say, like ex2's, never to form sigma = exp(log_std)
    (ex.check_per_code_info, lambda q, codes, spec: torch.distributions.Normal(q.mean, q.log_std.exp())
     .log_prob(codes.continuous).mean(0) + math.log(spec.continuous_range[1] - spec.continuous_range[0]),
     "log_std = 100"),
    (ex.check_mutual_info_bound, lambda q, codes, spec: _lq_parts(q, codes)[0] + (
        torch.distributions.Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).sum(1).mean()
        if spec.n_continuous else 0) + sum(_spec_entropy(spec)), "Never form sigma"),
    (ex.check_per_class_accuracy, lambda m: (np.diag(m) / m.sum(1)).tolist(), "answer is a NumPy array"),
    (ex.check_per_class_accuracy, lambda m: np.diag(m) / m.sum(1, dtype=m.dtype), "uint8"),
    (ex.check_invariant_information, lambda p, q: [float(_iic_xlogy(p, q))], "it returned a list"),
]


@pytest.mark.parametrize("checker, answer, explanation", WRONG_25,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(WRONG_25)])
def test_answers_away_from_the_centre_are_refused_and_explained(checker, answer, explanation, capsys):
    result = checker(answer)
    assert not result.passed and explanation in result.message, result.message


def _iic_xlogy(p, q):
    joint = p.T @ q / len(p)
    joint = (joint + joint.T) / 2
    rows, cols = joint.sum(1), joint.sum(0)
    return (torch.special.xlogy(joint, joint) - torch.special.xlogy(joint, rows[:, None] * cols[None, :])).sum()


def _matched_by_unique(clusters, labels):  # rectangular counts over the ids in use: the same best matching
    ci, li = np.unique(clusters, return_inverse=True)[1], np.unique(labels, return_inverse=True)[1]
    counts = np.zeros((ci.max() + 1, li.max() + 1))
    np.add.at(counts, (ci, li), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return counts[rows, cols].sum() / len(labels)


def _control_under_no_grad(D, fake, codes, spec):
    with torch.no_grad():
        h = D.features(fake)
    return info_loss(D.q_from_features(h), codes, spec)


RIGHT_25 = [  # correct alternatives that must pass
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(lg, c)),
    (ex.check_categorical_info_loss, lambda lg, c: (torch.logsumexp(lg, 1) - lg[torch.arange(len(c)), c]).mean()),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: -(c - m) ** 2 * torch.exp(-2 * s) / 2 - s
     - math.log(math.sqrt(2 * math.pi))),
    (ex.check_gaussian_log_likelihood, lambda c, m, s: -torch.log(torch.tensor(2 * math.pi, dtype=c.dtype)) / 2 - s
     - 0.5 * torch.square((c - m) * torch.exp(-s))),
    (ex.check_code_entropy, lambda spec: np.float64(
        np.sum(np.log(spec.categorical)) + spec.n_continuous * np.log(np.subtract(*spec.continuous_range[::-1])))),
    (ex.check_mutual_info_bound, lambda q, codes, spec: sum(-F.cross_entropy(lg, codes.categorical[:, i])
                                                            for i, lg in enumerate(q.logits))
     + (_gll(codes.continuous, q.mean, q.log_std).sum(1).mean() if spec.n_continuous else 0)
     + _entropy_with(lambda a, b: math.log(b - a))(spec)),
    (ex.check_traversal_codes, _row_major_traversal),
    (ex.check_matched_accuracy, _matched),
    (ex.check_matched_accuracy, lambda c, lab: _matched(c, lab, k=int(max(c.max(), lab.max())) + 1)),
    (ex.check_matched_accuracy, _matched_by_unique),
    (ex.check_matched_accuracy, lambda c, lab: _matched(lab, c)),
    (ex.check_per_code_info, lambda q, codes, spec: _gll(codes.continuous, q.mean, q.log_std).mean(0)
     + math.log(spec.continuous_range[1] - spec.continuous_range[0])),
    (ex.check_generator_objective, _generator(lambda fl: -F.logsigmoid(fl).mean())),
    (ex.check_generator_objective, _generator(lambda fl: F.binary_cross_entropy_with_logits(fl, torch.ones_like(fl)))),
    (ex.check_control_info_loss, _control_under_no_grad),
    (ex.check_per_class_accuracy, lambda m: np.diag(m) / m.sum(axis=1)),
    (ex.check_per_class_accuracy, lambda m: np.array([m[i, i] / m[i].sum() for i in range(len(m))], dtype=np.float32)),
    (ex.check_invariant_information, _iic_xlogy),
    (ex.check_invariant_information, lambda p, q: float(_iic_xlogy(p, q))),  # "a 0-d tensor or a float"
]


@pytest.mark.parametrize("checker, answer", RIGHT_25, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(RIGHT_25)])
def test_correct_alternatives_pass_the_new_cases(checker, answer, capsys):
    result = checker(answer)
    assert result.passed, result.message


@pytest.mark.parametrize("checker, answer, not_named", [
    (ex.check_code_entropy, _entropy_with(lambda a, b: abs(math.log(b - a))), "range (-1, 1) was assumed"),
    (ex.check_code_entropy, lambda spec: sum(math.log(k) for k in spec.categorical)
     + (math.log(spec.n_continuous) if spec.n_continuous else 0.0), "added once"),
    (ex.check_categorical_info_loss, lambda lg, c: -torch.log(F.softmax(lg, 1) + 1e-8).gather(1, c[:, None]).mean(),
     "overflows"),
    (ex.check_matched_accuracy, _balanced, "greedily"),
    (ex.check_per_class_accuracy, lambda m: list(np.diag(m) / m.sum(1)), "number or tensor"),
])
def test_no_message_names_a_slip_the_answer_did_not_make(checker, answer, not_named, capsys):
    result = checker(answer)
    assert not result.passed and not_named not in result.message, result.message


def test_every_rejection_names_its_case(capsys):
    for checker, answer, _ in WRONG_25:
        result = checker(answer)
        names = [case.name for case in _exercise_of(checker)().cases]
        assert any(name in result.message for name in names), result.message


def _exercise_of(checker):
    return {ex.check_categorical_info_loss: ex8._categorical_info_loss_exercise,
            ex.check_gaussian_log_likelihood: ex8._gaussian_log_likelihood_exercise,
            ex.check_code_entropy: ex8._code_entropy_exercise,
            ex.check_mutual_info_bound: ex8._mutual_info_bound_exercise,
            ex.check_traversal_codes: ex8._traversal_codes_exercise,
            ex.check_matched_accuracy: ex8._matched_accuracy_exercise,
            ex.check_per_code_info: ex9._per_code_info_exercise,
            ex.check_generator_objective: ex9._generator_objective_exercise,
            ex.check_control_info_loss: ex9._control_info_loss_exercise,
            ex.check_per_class_accuracy: ex9._per_class_accuracy_exercise,
            ex.check_invariant_information: ex9._invariant_information_exercise}[checker]


def _endless(spec):
    while True:
        pass


def test_the_time_limit_works_off_the_main_thread(monkeypatch, capsys):
    import threading

    monkeypatch.setattr(ex.engine, "TIME_LIMIT", 0.5)
    results = []
    worker = threading.Thread(target=lambda: results.append(ex.check_code_entropy(_endless)), daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive() and "did not finish within 0.5 s" in results[0].message


def test_the_time_limit_works_without_sigalrm(monkeypatch, capsys):
    """Windows has no SIGALRM and no setitimer: the trace-based deadline still stops the loop."""
    from infogan_tutorial.exercises import guards

    monkeypatch.setattr(ex.engine, "TIME_LIMIT", 0.5)
    monkeypatch.delattr(guards.signal, "setitimer")
    result = ex.check_code_entropy(_endless)
    assert not result.passed and "did not finish within 0.5 s" in result.message


def test_the_statements_say_the_type_and_the_gradient_the_same_way():
    for label, (path, _, _) in EXERCISES.items():
        box = next(text(c) for c in cells(path) if c["cell_type"] == "markdown" and f":label: {label}\n" in text(c))
        assert box.count("**Returns:**") == 1 and box.count("**Gradient:**") == 1, label
