"""Checkers for the book's exercises: run a student's function, say in plain words what is wrong.

The checking engine lives in :mod:`.engine`; chapter 8's exercises in :mod:`.foundations` and
chapter 9's in :mod:`.experiments`. The notebooks import the checkers from here::

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
