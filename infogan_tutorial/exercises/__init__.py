"""Checkers for the book's exercises: run a student's function, say in plain words what is wrong.

The checking engine lives in ``engine`` (with ``compare`` and ``guards``); chapter 8's exercises in
``foundations`` and chapter 9's in ``experiments``. Every checker is formative by default (it prints
one line and returns a :class:`CheckResult`) and graded with ``graded=True`` (it raises
:class:`ExerciseFailed` on a wrong answer; ``cases=`` runs an autograder's hidden cases instead of
the table's). The notebooks import the checkers from here::

    from infogan_tutorial.exercises import check_code_entropy
"""

from .engine import Case, CheckResult, Exercise, ExerciseFailed, Mistake, check_against
from .experiments import (
                          check_control_info_loss,
                          check_generator_objective,
                          check_invariant_information,
                          check_per_class_accuracy,
                          check_per_code_info,
)
from .foundations import (
                          check_categorical_info_loss,
                          check_code_entropy,
                          check_gaussian_log_likelihood,
                          check_matched_accuracy,
                          check_mutual_info_bound,
                          check_traversal_codes,
)

__all__ = [
    "Case", "CheckResult", "Exercise", "ExerciseFailed", "Mistake", "check_against", "check_categorical_info_loss",
    "check_code_entropy", "check_control_info_loss", "check_gaussian_log_likelihood", "check_generator_objective",
    "check_invariant_information", "check_matched_accuracy", "check_mutual_info_bound", "check_per_class_accuracy",
    "check_per_code_info", "check_traversal_codes",
]

for _name in ("Case", "CheckResult", "Exercise", "ExerciseFailed", "Mistake", "check_against"):
    globals()[_name].__module__ = __name__  # documented, and referred to, as infogan_tutorial.exercises.X
