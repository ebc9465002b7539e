"""``python -m infogan_tutorial``: see :mod:`infogan_tutorial.cli`."""

import sys

from .cli import main

sys.exit(main())
