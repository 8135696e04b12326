"""The progress callback that long operations (generation, rendering, jobs) accept, and cancellation points.

A caller that can cancel (the service's worker) runs the work inside `cancellable(check)`; long loops deep in
the analysis call `cancellation_point()` between blocks, which runs that check (it raises to stop the work).
A context variable rather than a `check` argument through every layer: the points sit in small numeric helpers
(a Viterbi chunk, a tempogram block) that should not know who may cancel them.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Called as progress(fraction, message): the fraction done so far (0..1) and what is being done.
Progress = Callable[[float, str], None]

_check: ContextVar[Callable[[], None] | None] = ContextVar("vconductor_cancel_check", default=None)


@contextmanager
def cancellable(check: Callable[[], None] | None) -> Iterator[None]:
    """Run the block with `check()` (may raise to stop) as the check of its cancellation points."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


def cancellation_point() -> None:
    """Stop here if the enclosing `cancellable` block's check says so; nothing outside one."""
    check = _check.get()
    if check is not None:
        check()
