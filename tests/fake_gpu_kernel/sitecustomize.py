"""Start-up of a Python process (a notebook kernel under nbval) that fakes a GPU's answers: see tests/fake_gpu.py.

Active only with ``INFOGAN_FAKE_GPU`` set (``t4`` or ``h100``) and this folder on ``PYTHONPATH``.
"""

import os
import sys

if os.environ.get("INFOGAN_FAKE_GPU"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fake_gpu

    fake_gpu.install(os.environ["INFOGAN_FAKE_GPU"])
    del sys.path[0]
