"""Interrupts at step boundaries: Ctrl-C (SIGINT) and SIGTERM wait until the current step is done.

A training step changes the networks, both optimizers and the batch-norm counters one after
the other. An interrupt that lands in the middle would leave a state that is neither step k
nor step k + 1, and a checkpoint of it would resume a different run. Inside
:func:`deferred_interrupts` an interrupt only sets a flag; the training loop looks at the
flag between steps, saves, and stops. A second Ctrl-C stops at once (the last saved
checkpoint stays). SIGTERM (a scheduler, ``timeout``, ``docker stop``) is treated like Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Interrupt:
    """What :func:`deferred_interrupts` caught: the signal's name, or None while none arrived."""

    signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Interrupt]:
    """Catch SIGINT and SIGTERM into an :class:`Interrupt` flag while the block runs (main thread only;
    elsewhere, signals keep their handlers and the flag stays unset)."""
    caught = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: object) -> None:
        if caught.requested:  # the second interrupt: stop now
            raise KeyboardInterrupt
        caught.signal_name = signal.Signals(signum).name

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the block runs, as Ctrl-C does (main thread only), so a command stopped
    by a scheduler, ``timeout`` or ``docker stop`` outside training also cleans up and says what it left."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
