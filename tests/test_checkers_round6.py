"""The fifth blind student's findings (issue 25): answers that passed or were refused for the wrong reason.

- A right answer calling the package's gaussian_log_likelihood, in a fresh interpreter, was blamed for changing
  the warning filters: torch imported sympy on first use, and sympy added a filter for its own warnings.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_library_s_own_warning_filter_is_not_blamed_on_the_answer():
    code = textwrap.dedent("""
        import math, warnings
        import infogan_tutorial.exercises as ex
        from infogan_tutorial.objectives import gaussian_log_likelihood
        def per_code_info(q, codes, spec):
            low, high = spec.continuous_range
            return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(0) + math.log(high - low)
        print("right", ex.check_per_code_info(per_code_info).passed)
        def silenced(q, codes, spec):
            warnings.simplefilter("ignore")
            return per_code_info(q, codes, spec)
        print("silenced", ex.check_per_code_info(silenced).passed)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "right True" in out and "silenced False" in out, out
