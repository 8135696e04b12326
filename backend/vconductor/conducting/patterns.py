"""The textbook beat patterns of the right hand (1: down-up; 2: down, up; 3: down, out, up; 4: down, in, out, up; 6/8: the
German six)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    """A beat pattern for the right hand, per beat of the bar: where each ictus lies across the beat plane (in
    pattern widths, positive towards the body's midline, "in"), and how high the hand rebounds after it (in
    pattern sizes: nearly even, so that every beat reads as one bounce; the upbeat a little higher)."""

    ictus_x: tuple[float, ...]
    rebound: tuple[float, ...]


PATTERNS = {  # beats per bar -> pattern
    1: Pattern((0.0,), (1.0,)),  # in one: down, up
    2: Pattern((0.0, -0.4), (1.0, 1.1)),  # down, up
    3: Pattern((0.0, -0.75, -0.2), (1.0, 1.0, 1.1)),  # down, out, up
    4: Pattern((0.0, 0.2, -0.75, -0.2), (1.0, 1.0, 1.0, 1.1)),  # down, in, out, up
    6: Pattern((0.0, 0.12, 0.24, -0.4, -0.75, -0.2), (1.0, 1.0, 1.0, 1.0, 1.0, 1.1)),  # German six
}
