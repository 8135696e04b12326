"""Reading a user's beat file: the JSON `vconductor analyze` writes, its CSV, or plain text with one time (seconds)
a line, optionally `time,beat_in_bar` (docs/beat-sources.md).

Bounded and strict: at most MAX_BEATS_BYTES and MAX_BEATS beats; every value a finite number; times
non-negative and increasing; bar positions whole numbers inside their bars. Anything else is a BeatsFileError
of one line that names the file (and the line). Standard library and numpy only: the service parses uploads
with it.
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bounded_files import read_bounded
from .contract_beats import BEATS_FORMAT_ID, BeatsFileError, beats_from_document

MAX_BEATS_BYTES = 1 << 20  # 1 MiB: 100 000 beats of plain text, or a long piece's analysis document
MAX_BEATS = 100_000  # about 14 hours at 120 BPM
MIN_INTERVAL_S = 0.1  # beats closer than this (600 BPM) are not beats a conductor can give
_TIME_COLUMNS = ("time_s", "time", "beat_s", "seconds")
_SEPARATOR = re.compile(r"[,;\t ]+")


@dataclass
class GivenBeats:
    """Beat times from a file, with their bar positions when it has them (None: to be found)."""

    times_s: np.ndarray
    beat_in_bar: np.ndarray | None = None
    bar_length: np.ndarray | None = None
    name: str = "beats"  # the file's name, for messages


def read_beats_file(path) -> GivenBeats:
    """The beats of a file on disk (size checked before reading); BeatsFileError, one line, if unusable."""
    path = Path(path)
    data = read_bounded(path, MAX_BEATS_BYTES, "beat file", BeatsFileError)
    return parse_beats(data, path.name)


def parse_beats(data: bytes, name: str = "beats") -> GivenBeats:
    """The beats of a file's bytes: JSON (a document of `vconductor analyze`, or an object with `beats_s`),
    the analysis CSV, or one time a line (optionally `time,beat_in_bar`)."""
    if len(data) > MAX_BEATS_BYTES:
        raise BeatsFileError(f"{name}: a beat file is at most {MAX_BEATS_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BeatsFileError(f"{name}: not a text file (a beat file is UTF-8 JSON, CSV or text)") from None
    if "\x00" in text:
        raise BeatsFileError(f"{name}: not a text file (a beat file is UTF-8 JSON, CSV or text)")
    stripped = text.lstrip()
    given = _from_json(stripped, name) if stripped.startswith("{") else _from_lines(text, name)
    return checked(given)


def checked(given: GivenBeats) -> GivenBeats:
    """`given` if its times and positions are usable, else BeatsFileError naming the first problem."""
    name, times = given.name, given.times_s
    if len(times) > MAX_BEATS:
        raise BeatsFileError(f"{name}: more than {MAX_BEATS} beats")
    if len(times) < 2:
        raise BeatsFileError(f"{name}: {len(times)} beat(s): at least 2 beats are needed")
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad):
        raise BeatsFileError(f"{name}: beat {bad[0] + 1} is not a finite number ({times[bad[0]]})")
    if times[0] < 0:
        raise BeatsFileError(f"{name}: beat 1 is at a negative time ({times[0]:g} s)")
    gaps = np.diff(times)
    bad = np.flatnonzero(gaps <= 0)
    if len(bad):
        i = bad[0]
        message = f"beat {i + 2} ({times[i + 1]:g} s) is not after beat {i + 1} ({times[i]:g} s)"
        raise BeatsFileError(f"{name}: times must increase: {message}")
    bad = np.flatnonzero(gaps < MIN_INTERVAL_S)
    if len(bad):
        i = bad[0]
        message = f"beats {i + 1} and {i + 2} are {gaps[i] * 1000:.0f} ms apart"
        raise BeatsFileError(f"{name}: {message} (at least {MIN_INTERVAL_S * 1000:.0f} ms, 600 BPM)")
    _check_positions(given)
    return given


def _check_positions(given: GivenBeats) -> None:
    in_bar = given.beat_in_bar
    if in_bar is None:
        return
    bad = np.flatnonzero(in_bar < 0)
    if len(bad):
        raise BeatsFileError(f"{given.name}: beat {bad[0] + 1} has a negative beat_in_bar ({in_bar[bad[0]]})")
    if given.bar_length is not None:
        bad = np.flatnonzero(in_bar >= given.bar_length)
        if len(bad):
            raise BeatsFileError(f"{given.name}: beat {bad[0] + 1}'s beat_in_bar is outside its bar_length")
    if in_bar.max() >= 16:
        raise BeatsFileError(f"{given.name}: a bar of more than 16 beats (beat_in_bar {in_bar.max()})")


def _from_json(text: str, name: str) -> GivenBeats:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BeatsFileError(f"{name}: not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(doc, dict) or "beats_s" not in doc:
        raise BeatsFileError(f"{name}: a JSON beat file is an object with 'beats_s' (vconductor analyze's)")
    if doc.get("format") == BEATS_FORMAT_ID:
        try:
            track = beats_from_document(doc)
        except BeatsFileError as exc:
            raise BeatsFileError(f"{name}: {exc}") from None
        return GivenBeats(track.beats_s, track.beat_in_bar, track.bar_length, name)
    times = _numbers(doc["beats_s"], name, "beats_s")
    in_bar = doc.get("beat_in_bar")
    if in_bar is not None:
        in_bar = _whole(_numbers(in_bar, name, "beat_in_bar"), name, "beat_in_bar")
        if len(in_bar) != len(times):
            raise BeatsFileError(f"{name}: 'beat_in_bar' needs one value per beat ({len(times)})")
    return GivenBeats(times, in_bar, None, name)


def _numbers(values, name: str, key: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) > MAX_BEATS:
        raise BeatsFileError(f"{name}: '{key}' must be a list of at most {MAX_BEATS} numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise BeatsFileError(f"{name}: '{key}' must hold only numbers")
    return np.asarray(values, np.float64).reshape(-1)


def _whole(values: np.ndarray, name: str, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise BeatsFileError(f"{name}: '{what}' must hold whole numbers")
    return values.astype(np.int64)


def _from_lines(text: str, name: str) -> GivenBeats:
    """CSV or plain text: one beat a line; '#' lines and blank lines skipped; an optional header line."""
    rows, header = [], None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = next(csv.reader([line])) if "," in line else _SEPARATOR.split(line)
        fields = [f.strip() for f in fields]
        if header is None and not rows and not _is_number(fields[0]):
            header = [f.lower() for f in fields]
            continue
        rows.append((number, fields))
        if len(rows) > MAX_BEATS:
            raise BeatsFileError(f"{name}: more than {MAX_BEATS} beats")
    columns = _columns(header, name)
    return _table(rows, columns, name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns(header: list[str] | None, name: str) -> tuple[int, int | None, int | None]:
    """(time, beat_in_bar, bar_length) column indices of a header (None: no header: time[,beat_in_bar])."""
    if header is None:
        return 0, 1, None
    time_column = next((header.index(c) for c in _TIME_COLUMNS if c in header), None)
    if time_column is None:
        found = ", ".join(header)[:80]
        raise BeatsFileError(
            f"{name}: the header ({found}) names no time column ({', '.join(_TIME_COLUMNS)})"
        )
    in_bar = header.index("beat_in_bar") if "beat_in_bar" in header else None
    length = header.index("bar_length") if "bar_length" in header else None
    return time_column, in_bar, length


def _table(rows, columns, name: str) -> GivenBeats:
    time_col, in_bar_col, length_col = columns
    times, in_bar, lengths = [], [], []
    for number, fields in rows:
        times.append(_cell(fields, time_col, number, name, float))
        if in_bar_col is not None and len(fields) > in_bar_col:
            in_bar.append(_cell(fields, in_bar_col, number, name, int))
        if length_col is not None:
            lengths.append(_cell(fields, length_col, number, name, int))
    if in_bar and len(in_bar) != len(times):
        raise BeatsFileError(f"{name}: either every line has a beat_in_bar or none does")
    has_length = bool(lengths) and bool(in_bar)
    return GivenBeats(
        np.asarray(times, np.float64),
        np.asarray(in_bar, np.int64) if in_bar else None,
        np.asarray(lengths, np.int64) if has_length else None,
        name,
    )


def _cell(fields: list[str], column: int, number: int, name: str, kind):
    if column >= len(fields) or not fields[column]:
        raise BeatsFileError(f"{name} line {number}: column {column + 1} is missing")
    text = fields[column]
    try:
        value = float(text)
    except ValueError:
        raise BeatsFileError(f"{name} line {number}: {text[:30]!r} is not a number") from None
    if kind is int and not (np.isfinite(value) and value == round(value) and abs(value) < 2**31):
        raise BeatsFileError(f"{name} line {number}: {text[:30]!r} is not a whole number")
    if kind is float and not np.isfinite(value):
        raise BeatsFileError(f"{name} line {number}: {text[:30]!r} is not a finite number")
    return kind(value)
