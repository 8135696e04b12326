"""Timeline markers as the user's beats (issue 15): markers -> beat times in the strip's audio time, with bar
positions, as the beat file the service's `beats` part takes (docs/beat-sources.md). No bpy: the Blender layer
hands in (name, frame) pairs and the range the uploaded audio covers.

Audio time 0 of the upload is the range's first frame (`FrameRange.start`: the strip's first played frame, or
the user's range), so a marker on scene frame f is the beat at (f - start) / fps seconds, fps the scene's
(fps / fps_base: 29.97 is 30000/1001). Bar positions (docs/beat-sources.md, "In Blender"):
- NAMED: a marker named BAR.1 ("VC 12.1", "12.1") is a downbeat; the markers after it count on from it (a bar is
  as long as its markers up to the next downbeat); after the last downbeat, and when no marker is named so, bars
  are `beats_per_bar` long from the first downbeat (the first marker when none is named); markers before the first
  downbeat are the last beats of a bar (a pickup).
- FIRST: the first marker in the range is a downbeat, then one every `beats_per_bar` markers.
- NONE: times only; the backend places the bars (its tracker's downbeats, docs/beat-sources.md).
"""

import re
from dataclasses import dataclass

import numpy as np

DOWNBEAT_RULES = ("NAMED", "FIRST", "NONE")
MIN_INTERVAL_S = 0.1  # the backend refuses beats closer than this (600 BPM): say so before sending
MAX_BAR_BEATS = 16  # the backend's longest bar
BEATS_FILE_NAME = "timeline_markers.txt"
_DOWNBEAT_NAME = re.compile(r"(?:^|[^\d.])\d+\.1\s*$")  # "VC 12.1", "12.1"; not "12.10", not "F_01"


class MarkerBeatsError(ValueError):
    """Markers that cannot be beats; str(error) is a one-line message for the panel."""


@dataclass(frozen=True)
class MarkerBeats:
    times_s: np.ndarray  # beat times in the uploaded audio's time (seconds), increasing
    beat_in_bar: np.ndarray | None  # 0 = downbeat; None: the backend places the bars
    names: tuple[str, ...]  # the markers', for messages

    def file_bytes(self) -> bytes:
        """The beat file: one `time` (or `time,beat_in_bar`) a line, the backend's plain-text format."""
        lines = ["# Virtual Conductor: timeline markers (seconds of the strip's audio, beat in bar from 0)"]
        if self.beat_in_bar is None:
            lines += [f"{t:.6f}" for t in self.times_s]
        else:
            lines += [f"{t:.6f},{int(k)}" for t, k in zip(self.times_s, self.beat_in_bar, strict=True)]
        return ("\n".join(lines) + "\n").encode("utf-8")


def is_downbeat_name(name: str) -> bool:
    return _DOWNBEAT_NAME.search(name) is not None


def markers_in_range(markers, start: float, end: float) -> list[tuple[str, int]]:
    """(name, frame) of the markers on frames start <= f < end, by frame (then name)."""
    return sorted(((str(n), int(f)) for n, f in markers if start <= f < end), key=lambda m: (m[1], m[0]))


def marker_beats(
    markers, start: float, end: float, fps: float, rule: str = "NAMED", beats_per_bar: int = 4
) -> MarkerBeats:
    """The beats the markers (name, frame) inside [start, end) give; MarkerBeatsError (one line) when they
    cannot: fewer than 2, two closer than MIN_INTERVAL_S, a bar longer than MAX_BAR_BEATS."""
    if rule not in DOWNBEAT_RULES:
        raise MarkerBeatsError(f"Unknown downbeat rule {rule!r} (one of {', '.join(DOWNBEAT_RULES)})")
    if not 1 <= beats_per_bar <= MAX_BAR_BEATS:
        raise MarkerBeatsError(f"Beats per bar must be 1 to {MAX_BAR_BEATS}, not {beats_per_bar}")
    inside = markers_in_range(markers, start, end)
    if len(inside) < 2:
        raise MarkerBeatsError(
            f"{len(inside)} timeline marker(s) on frames {_frame(start)}-{_frame(end) - 1} (the strip's played "
            "range): add at least 2 (M during playback)"
        )
    names = tuple(name for name, _frame_number in inside)
    frames = np.array([frame for _name, frame in inside], dtype=np.float64)
    times = (frames - start) / fps
    _check_spacing(inside, times)
    positions = None if rule == "NONE" else bar_positions(names, rule, beats_per_bar)
    return MarkerBeats(times, positions, names)


def _frame(value: float) -> int:
    return int(np.ceil(value - 1e-9))


def _check_spacing(inside: list[tuple[str, int]], times: np.ndarray) -> None:
    gaps = np.diff(times)
    close = np.flatnonzero(gaps < MIN_INTERVAL_S - 1e-9)
    if len(close) == 0:
        return
    (a_name, a_frame), (b_name, b_frame) = inside[close[0]], inside[close[0] + 1]
    if a_frame == b_frame:
        raise MarkerBeatsError(f"Markers '{a_name}' and '{b_name}' are both on frame {a_frame}: keep one")
    raise MarkerBeatsError(
        f"Markers '{a_name}' (frame {a_frame}) and '{b_name}' (frame {b_frame}) are "
        f"{gaps[close[0]] * 1000:.0f} ms apart: beats must be at least {MIN_INTERVAL_S * 1000:.0f} ms apart"
    )


def bar_positions(names, rule: str, beats_per_bar: int) -> np.ndarray:
    """Each marker's beat in its bar (0 = downbeat) under `rule` (NAMED or FIRST; see the module)."""
    count = len(names)
    named = [i for i, name in enumerate(names) if is_downbeat_name(name)] if rule == "NAMED" else []
    downbeats = named or [0]
    index = np.arange(count)
    positions = (index - downbeats[0]) % beats_per_bar  # pickups count back from the first downbeat
    positions[downbeats[-1] :] = (
        index[downbeats[-1] :] - downbeats[-1]
    ) % beats_per_bar  # bars after the last
    for first, following in zip(downbeats, downbeats[1:], strict=False):
        length = following - first
        if length > MAX_BAR_BEATS:
            raise MarkerBeatsError(
                f"{length} markers from downbeat '{names[first]}' to '{names[following]}': a bar has at most "
                f"{MAX_BAR_BEATS} beats (name each bar's first marker BAR.1, or count bars from the first marker)"
            )
        positions[first:following] = np.arange(length)
    return positions.astype(np.int64)
