"""The progress callback that long operations (generation, rendering, jobs) accept."""

from collections.abc import Callable

# Called as progress(fraction, message): the fraction done so far (0..1) and what is being done.
Progress = Callable[[float, str], None]
