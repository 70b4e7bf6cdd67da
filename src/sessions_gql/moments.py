"""Reads of the moment: the clock and presence, noted for whoever watches the code that runs.

A subscription frame shared between subscribers (realtime/frames.py) must not depend on when it was built: the
clock and the presence store note each read here, and the frame's execution watches for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_watch: ContextVar[list[str] | None] = ContextVar("sessions_gql_moment_reads", default=None)


def read(what: str) -> None:
    """Note a read of `what` ("clock", "presence") for the watch around the running code, if any."""
    reads = _watch.get()
    if reads is not None:
        reads.append(what)


@contextlib.contextmanager
def watching() -> Iterator[list[str]]:
    """Collect the reads noted while the body runs, in this task and the tasks it starts (they copy the
    context, and with it the same list)."""
    reads: list[str] = []
    token = _watch.set(reads)
    try:
        yield reads
    finally:
        _watch.reset(token)
