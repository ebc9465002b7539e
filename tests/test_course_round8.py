"""Issue 24, the eighth cheating instructor: cheats that switched off the checkers' own rule checks from an answer
cell (``guards.changed = f``, ``torch.Tensor.backward = f``, ``engine.time_limit = f``), a table of the visible
answers kept in a string, and forged timestamps scored without a review flag. All are flagged now; no honest
answer of four blind rounds (333 functions) and no honest submission of the term gets one of the new flags."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_grading as cg  # noqa: E402

RULES_OFF = """import infogan_tutorial.exercises.guards as _g, infogan_tutorial.exercises.engine as _e
def _nothing(*a, **k): return ()
for _m in (_g, _e):
    if hasattr(_m, 'changed'): _m.changed = _nothing

def categorical_info_loss(logits, c):
    logits.data.sub_(logits.data.max(dim=1, keepdim=True).values)
    return F.cross_entropy(logits, c)
"""
PROBE_OFF = """import torch
_orig = torch.Tensor.backward
def _bw(self, *a, **k): return _orig(self, *a, **k)
torch.Tensor.backward = _bw
def control_info_loss(D, fake, codes, spec):
    return info_loss(D.q(fake.detach()), codes, spec)
"""
TABLE_IN_TEXT = ("_T = dict(x.split('=') for x in '" + ";".join(f"k{i}={i}.123456789" for i in range(31))
                 + "'.split(';'))\ndef code_entropy(spec):\n    return float(_T.get(repr(spec), 1.0))\n")
HONEST = """def traversal_codes(spec, base, code, values):
    steps, i = len(values), spec.code_index(code)
    z, cat, cont = (t.repeat_interleave(steps, dim=0).clone() for t in (base.z, base.categorical, base.continuous))
    if i < spec.n_categorical:
        cat[:, i] = values.repeat(len(base)).long()
    else:
        cont[:, i - spec.n_categorical] = values.repeat(len(base)).to(cont.dtype)
    x = torch.zeros(3)
    x.requires_grad = True
    return Codes(z, cat, cont)
"""


@pytest.mark.parametrize("source, words", [
    (RULES_OFF, ["exercises (a, line 1)", "guards (a, line 1)", "sets _m.changed (a, line 4)"]),
    (PROBE_OFF, ["sets torch.Tensor.backward (a, line 4)"]),
    (TABLE_IN_TEXT, ["a table of 32 numbers (a)"]),
])
def test_switching_the_rule_checks_off_or_a_table_in_text_is_flagged(source, words):
    flags = "; ".join(cg.review_flags({"a": source}))
    for word in words:
        assert word in flags


def test_an_honest_answer_that_indexes_with_attributes_is_not_flagged():
    assert cg.review_flags({"a": HONEST}) == []


def _stamp(tmp_path, text):
    (tmp_path / "timestamp.txt").write_text(text)
    result = {"score": 10.0, "max_score": 12.0, "notes": []}
    due = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    released = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    cg.late_penalty(tmp_path, result, due, 0.1, released)
    return result


def test_a_timestamp_before_the_release_or_in_the_future_is_flagged(tmp_path):
    assert "before the assignment was released" in "; ".join(_stamp(tmp_path, "1999-01-01 00:00:00 UTC")["review"])
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S UTC")
    result = _stamp(tmp_path, future)
    assert "lies in the future" in "; ".join(result["review"])
    honest = _stamp(tmp_path, "2026-11-10 12:00:00 UTC")
    assert honest.get("review") == [] and honest["score"] == 10.0


ROUTES = """import operator as _op, infogan_tutorial
for m in ('guards', 'engine'):
    _op.attrgetter('__di' + 'ct__')(_op.attrgetter('exer' + 'cises.' + m)(infogan_tutorial))['time_limit'] = print
def code_entropy(spec):
    return 0.0
"""
OWN_OBJECT = """def traversal_codes(spec, base, code, values):
    out = Codes(base.z.repeat_interleave(len(values), 0), base.categorical.repeat_interleave(len(values), 0),
                base.continuous.repeat_interleave(len(values), 0))
    out.continuous = out.continuous.clone()
    return out
"""


def test_the_ninth_instructors_string_routes_are_flagged_and_own_objects_are_not():
    flags = "; ".join(cg.review_flags({"a": ROUTES}))
    assert "attrgetter (a, line 3)" in flags and "sets an entry of" in flags
    assert cg.review_flags({"a": OWN_OBJECT}) == []


def test_a_private_helper_of_a_forbidden_module_is_forbidden_too():
    import infogan_tutorial.exercises as ex
    from infogan_tutorial import mutual_information as mi

    def through_the_helper(p, q):
        joint = p.T @ q / p.shape[0]
        joint = (joint + joint.T) / 2
        rows = joint.sum(1)
        return mi._xlogx(joint).sum() - 2 * mi._xlogx(rows).sum()
    result = ex.check_invariant_information(through_the_helper)
    assert not result.passed and "mutual_information._xlogx" in result.message


def test_a_module_bound_through_getattr_is_not_the_answers_own_object():
    source = ("import infogan_tutorial as _i\n_g = getattr(getattr(_i, 'exer' + 'cises'), 'gua' + 'rds')\n"
              "_g.changed = print\n")
    assert "sets _g.changed (a, line 3)" in "; ".join(cg.review_flags({"a": source}))
