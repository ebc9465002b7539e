"""``python -m infogan_tutorial``: see :mod:`infogan_tutorial.cli`."""

import sys


def run() -> int:
    """Load the command line (torch takes seconds to import) and run it; a Ctrl-C while it loads is an
    interruption like any other, not a traceback."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("Interrupted while starting; nothing was run or written.", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
