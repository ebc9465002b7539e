"""The fifth cheating instructor's findings (issue 24).

- The answer key's functions pasted into answer cells (the installed package holds them) scored full marks with no
  review flag: a function that is one of the key's, up to names and docstrings, is now flagged.
- An unlisted package function (``symmetric_channel_information(k, 0) = log k``) scored the entropy exercise:
  every function of ``mutual_information`` is now forbidden there.
- No hidden case of the per-class exercise had a class without images.
- ``init --repo /path/to/bare.git`` wrote an install line pip rejects (``git+/path``).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import infogan_tutorial.exercises as ex
from infogan_tutorial import mutual_information as mi
from infogan_tutorial.exercises import experiments, foundations

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_grading as cg  # noqa: E402
from course import package_spec  # noqa: E402


def test_a_pasted_answer_key_is_flagged_even_renamed_and_without_its_docstring():
    pasted = inspect.getsource(foundations.gaussian_ll).replace("log_sigma", "s").replace("gaussian_ll", "mine")
    pasted = pasted.replace('"""log N(c; mean, exp(log_std)^2) elementwise, with switches that produce typical '
                            'mistakes."""', "")
    flags = cg.review_flags({"ex-gaussian-log-likelihood": pasted})
    assert flags == ["mine is the answer key's foundations.py: gaussian_ll up to names "
                     "(ex-gaussian-log-likelihood, line 1)"]
    assert any("experiments.py: _invariant_info" in f
               for f in cg.review_flags({"ex-invariant": inspect.getsource(experiments._invariant_info)}))


def test_the_book_s_own_solutions_and_short_answers_are_not_flagged():
    for name in ("08_exercises_foundations", "09_exercises_experiments"):
        cells, inside = json.loads((ROOT / "book" / f"{name}.ipynb").read_text())["cells"], False
        for cell in cells:
            text = "".join(cell["source"])
            inside = (inside or "solution-start" in text) and "solution-end" not in text
            if inside and cell["cell_type"] == "code":
                assert cg.review_flags({"answer": text}) == [], text
    short = "import torch.nn.functional as F\ndef categorical_info_loss(logits, c):\n    return F.cross_entropy(logits, c)\n"
    assert cg.review_flags({"ex-categorical-info-loss": short}) == []


def test_no_function_of_mutual_information_scores_the_entropy_exercise():
    def via_channel(spec):
        low, high = spec.continuous_range
        return float(sum(mi.symmetric_channel_information(k, 0.0) for k in spec.categorical)
                     + spec.n_continuous * math.log(high - low))
    result = ex.check_code_entropy(via_channel)
    assert not result.passed and "mutual_information.symmetric_channel_information" in result.message
    assert ex.check_code_entropy(lambda spec: float(sum(math.log(k) for k in spec.categorical) + spec.n_continuous
                                                    * math.log(spec.continuous_range[1] - spec.continuous_range[0])))


def test_a_hidden_per_class_case_has_a_class_without_images():
    text = (ROOT / "course" / "hidden_tests" / "ex-fashion.py").read_text()
    namespace = {"per_class_accuracy": lambda m: np.diag(m) / np.maximum(m.sum(axis=1), 1)}  # 0, not nan
    with pytest.raises(ex.ExerciseFailed, match="one class without images"):
        exec(compile(text, "ex-fashion.py", "exec"), namespace)


def test_a_local_students_repository_becomes_a_url_pip_takes(tmp_path):
    bare = tmp_path / "students.git"
    bare.mkdir()
    assert package_spec(str(bare), "main") == f"infogan_tutorial @ git+{bare.resolve().as_uri()}@main"
    assert package_spec("https://github.com/org/repo", "b") == "infogan_tutorial @ git+https://github.com/org/repo@b"
    with pytest.raises(SystemExit, match="neither a URL"):
        package_spec(str(tmp_path / "missing"), "main")


def test_one_submission_s_grading_time_is_capped_and_what_is_left_reported():
    """A submission that sleeps in every answer cell took about 41 minutes at the defaults (estimated from 305 s at
    --timeout 20): --submission-time caps the whole notebook."""
    pytest.importorskip("nbgrader", reason="the coursework needs the course extra: pip install -e '.[course]'")
    pytest.importorskip("docutils", reason="the coursework reads the gated solutions: pip install -e '.[book]'")
    import time

    from course_notebooks import source_notebook

    source = source_notebook(json.loads((ROOT / "book" / "08_exercises_foundations.ipynb").read_text()),
                             "infogan_tutorial")
    items = cg.exercises_of(source)
    cg.load_exercises(items)
    items = [i for i in items if i.label in ("ex-categorical-info-loss", "ex-code-entropy")]
    slow = "import time\ntime.sleep(50)\ndef {}(*args):\n    return 0.0\n"
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": f"{i.label}-answer", "solution": True}},
                     "source": slow.format(i.function), "outputs": [], "execution_count": None} for i in items]}
    start = time.monotonic()
    result = cg.grade_notebook(nb, items, cg.setup_cells(source), timeout=60, memory_mb=6144, check_time=10, budget=8)
    assert time.monotonic() - start < 45
    assert result["score"] == 0
    assert any("used up its 8 s of grading time (--submission-time)" in note for note in result["notes"]), result["notes"]
