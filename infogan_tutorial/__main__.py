"""``python -m infogan_tutorial``: see :mod:`infogan_tutorial.cli`."""

import sys


def run() -> int:
    """Load the command line (torch takes seconds to import) and run it; a Ctrl-C while it loads is an
    interruption like any other, not a traceback."""
    import signal

    interrupted = []

    def on_ctrl_c(signum: int, frame: object) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("Interrupted while starting; nothing was run or written.", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a Ctrl-C inside a library's import can surface as another error
        if not interrupted:
            raise
        print("Interrupted while starting; nothing was run or written.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    return main()


if __name__ == "__main__":
    sys.exit(run())
