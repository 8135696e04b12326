"""Notes + a tempo map -> a MIDI performance (pretty_midi) -> 22050 Hz mono audio (the fluidsynth program).

Training timbres only: the Fluid R3 soundfonts (Debian fluid-soundfont-gm, fluid-soundfont-gs,
fluidr3mono-gm-soundfont) are the held-out evaluation timbre, and `check_training_soundfont` refuses them by file
name and by the bank name stored inside the file, whatever the path or link they come through.
"""

import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from .labels import EPS
from .tempo_map import TempoMap

SOUNDFONT_FOLDERS = ("/usr/share/sounds/sf3", "/usr/share/sounds/sf2", "/usr/share/soundfonts")
# Debian's GM soundfonts we train with (musescore-general-soundfont, timgm6mb-soundfont).
TRAINING_SOUNDFONT_PATTERNS = ("MuseScore_General*.sf3", "MuseScore_General*.sf2", "TimGM6mb*.sf2")
DEBIAN_PACKAGES = {"MuseScore_General": "musescore-general-soundfont", "TimGM6mb": "timgm6mb-soundfont"}
PRESET_HEADER_BYTES = 38  # one phdr record of a soundfont (SoundFont 2.04, 7.2)
MAX_CHANNELS = 15  # 16 MIDI channels, less the drum channel
TAIL_S = 1.5  # rendered past the last note so releases (and fluidsynth's reverb) ring out

# GM programs by family and register (high, middle, low): orchestral strings, woodwinds, brass.
FAMILIES = {
    "strings": ([40, 48, 49], [41, 48, 49], [42, 43, 48]),
    "woodwinds": ([73, 68, 71], [71, 69, 60], [70, 60, 71]),
    "brass": ([56, 60, 61], [60, 57, 61], [57, 58, 61]),
}
ARTICULATIONS, ARTICULATION_SHARES = ("written", "legato", "detached"), (0.35, 0.2, 0.45)
KEYBOARDS = [0, 19, 20, 6, 52]  # piano, church organ, reed organ, harpsichord, choir aahs: one for all parts
# every GM program a render may draw: a soundfont must play each of them (bank 0), or parts render silent
RENDER_PROGRAMS = sorted(
    {p for registers in FAMILIES.values() for r in registers for p in r} | set(KEYBOARDS)
)
SILENT_PEAK = 1e-4  # a render whose peak stays below this (-80 dBFS) is silence, never a sample


class RenderError(RuntimeError):
    """A render that cannot be made (no fluidsynth, a refused soundfont), in one line."""


def _bank_name(path: Path) -> str:
    """The soundfont's own name (the INAM field of its RIFF INFO list); empty when unreadable."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)  # the INFO list comes first in a RIFF sfbk file
    except OSError:
        return ""
    at = head.find(b"INAM")
    if at < 0:
        return ""
    size = int.from_bytes(head[at + 4 : at + 8], "little")
    return head[at + 8 : at + 8 + size].split(b"\0")[0].decode("latin-1")


def check_training_soundfont(path) -> Path:
    """The soundfont's real path, or RenderError if it is a Fluid R3 soundfont (held out for evaluation) or
    not a General MIDI one."""
    _not_fluid_r3(path)
    return check_general_midi(path)


def _not_fluid_r3(path) -> Path:
    """The soundfont's real path, or RenderError if it is a Fluid R3 soundfont, by any name or link."""
    given = Path(path)
    real = given.resolve()
    if not real.is_file():
        raise RenderError(f"{given}: soundfont not found")
    names = [given.name, real.name, _bank_name(real)]
    if any("fluid" in name.lower() for name in names):
        raise RenderError(
            f"{given}: a Fluid R3 soundfont ({real.name}) is the held-out evaluation timbre; "
            "train with musescore-general-soundfont or timgm6mb-soundfont"
        )
    return real


def check_general_midi(path) -> Path:
    """The soundfont's real path, or RenderError if it lacks a General MIDI program a render may draw (a
    supplement such as Debian's FluidR3_GS.sf2, which only adds GS variations, renders those parts silent)."""
    given = Path(path)
    real = given.resolve()
    if not real.is_file():
        raise RenderError(f"{given}: soundfont not found")
    if missing := _missing_programs(real):
        raise RenderError(
            f"{given}: not a General MIDI soundfont: bank 0 lacks {len(missing)} of the {len(RENDER_PROGRAMS)} "
            f"programs a render uses (first: {missing[0]}); a supplement such as FluidR3_GS.sf2 needs its GM font"
        )
    return real


def _missing_programs(path: Path) -> list[int]:
    """RENDER_PROGRAMS not among the soundfont's bank-0 presets (all of them when it cannot be read)."""
    present = _bank0_programs(path)
    return [p for p in RENDER_PROGRAMS if p not in present]


def _bank0_programs(path: Path) -> set[int]:
    """The programs of the soundfont's bank-0 presets: the preset headers (phdr) in its pdta list, 38 bytes
    each (name, program, bank, ...), the last one a terminator. Empty when the file is not a soundfont."""
    try:
        with path.open("rb") as f:
            riff, size, form = struct.unpack("<4sI4s", f.read(12))
            if riff != b"RIFF" or form != b"sfbk":
                return set()
            headers = _riff_chunk(f, 8 + size, (b"pdta", b"phdr"))
    except (OSError, struct.error):
        return set()
    records = [headers[i : i + PRESET_HEADER_BYTES] for i in range(0, len(headers), PRESET_HEADER_BYTES)]
    return {
        program for program, bank in (struct.unpack_from("<HH", r, 20) for r in records[:-1]) if bank == 0
    }


def _riff_chunk(f, end: int, path: tuple[bytes, ...]) -> bytes:
    """The data of the chunk at `path` (LIST types, then the chunk id) among the chunks from here to `end`."""
    while f.tell() + 8 <= end:
        chunk, size = struct.unpack("<4sI", f.read(8))
        start = f.tell()
        if chunk == b"LIST" and f.read(4) == path[0]:
            return _riff_chunk(f, start + size, path[1:])
        if chunk == path[0] and len(path) == 1:
            return f.read(size)
        f.seek(start + size)  # no pad byte: the format keeps sizes even, and FluidR3Mono_GM.sf3 does not pad
    return b""


def training_soundfonts() -> list[Path]:
    """The training soundfonts installed in Debian's folders, each once (links resolved; a lossless .sf2 is
    taken over the same font's .sf3, which fluidsynth decompresses on every start)."""
    found: dict[str, Path] = {}
    for folder in SOUNDFONT_FOLDERS:
        for pattern in TRAINING_SOUNDFONT_PATTERNS:
            for path in sorted(Path(folder).glob(pattern)):
                real = _not_fluid_r3(path)  # raises on Fluid R3 whatever it is called
                if _missing_programs(real):
                    continue  # not a General MIDI font: found, but of no use
                if real.stem not in found or real.suffix == ".sf2":
                    found[real.stem] = real
    return list(found.values())


def evaluation_soundfonts() -> list[Path]:
    """The held-out evaluation timbre (Fluid R3) where Debian installed it, each once (links resolved); only
    General MIDI fonts (not the FluidR3_GS supplement)."""
    found: dict[Path, None] = {}
    for folder in SOUNDFONT_FOLDERS:
        for path in sorted(Path(folder).glob("FluidR3*.sf[23]")):
            if not _missing_programs(path.resolve()):
                found.setdefault(path.resolve())
    return list(found)


def soundfont_label(path: Path) -> str:
    package = next((p for stem, p in DEBIAN_PACKAGES.items() if path.name.startswith(stem)), None)
    return f"{path.stem} (Debian {package})" if package else path.stem


def fluidsynth_executable() -> str | None:
    return shutil.which("fluidsynth")


def draw_programs(rng, registers: list[float], chorale: bool) -> tuple[str, list[int]]:
    """An ensemble and one GM program per part (by the part's mean pitch): strings, winds, brass, a mix, or one
    keyboard/organ/choir for all (more often for chorales)."""
    weights = [0.3, 0.15, 0.2, 0.0, 0.35] if chorale else [0.35, 0.1, 0.1, 0.3, 0.15]
    ensemble = str(rng.choice(["strings", "woodwinds", "brass", "orchestra", "keyboard"], p=weights))
    if ensemble == "keyboard":
        return ensemble, [int(rng.choice(KEYBOARDS))] * len(registers)
    programs = []
    for pitch in registers:
        family = str(rng.choice(list(FAMILIES))) if ensemble == "orchestra" else ensemble
        high, middle, low = FAMILIES[family]
        choices = high if pitch >= 67 else middle if pitch >= 55 else low
        programs.append(int(rng.choice(choices)))
    return ensemble, programs


def draw_articulation(rng) -> tuple[str, float, float]:
    """(name, share of its written length a note sounds, timing jitter in s). Played as written (what a
    notation program exports: no jitter) or legato (notes overlapping a little, as strings play) a little more
    often than detached (55 % against 45 %): the gap before each note of detached playing is a beat cue that
    legato music does not give, and a network trained on gaps alone finds no beats in legato strings
    (docs/beat-data.md)."""
    kind = str(rng.choice(ARTICULATIONS, p=ARTICULATION_SHARES))
    if kind == "written":
        return kind, 1.0, 0.0
    low, high = (1.0, 1.08) if kind == "legato" else (0.75, 1.0)
    return kind, float(rng.uniform(low, high)), float(rng.uniform(0.0, 0.01))


def _cut_before_repeats(channels, pitches, starts, ends) -> np.ndarray:
    """Each note's end no later than the next start of the same pitch on its channel: a MIDI note-off after
    that note-on would silence the repeated note instead."""
    ends = np.array(ends, dtype=np.float64)
    order = np.lexsort((starts, pitches, channels))
    same = (channels[order][1:] == channels[order][:-1]) & (pitches[order][1:] == pitches[order][:-1])
    current, following = order[:-1][same], order[1:][same]
    ends[current] = np.minimum(ends[current], starts[following])
    return ends


def _on_any(onsets_q: np.ndarray, times_q: np.ndarray) -> np.ndarray:
    """Which onsets fall on one of the increasing `times_q` (within EPS)."""
    if len(times_q) == 0:
        return np.zeros(len(onsets_q), bool)
    # the first time not before onset - EPS (past the end: the last, then too early to match)
    candidate = np.minimum(np.searchsorted(times_q, onsets_q - EPS), len(times_q) - 1)
    return np.abs(times_q[candidate] - onsets_q) < EPS


def detached_articulation(rng) -> tuple[str, float, float]:
    """Every note detached (the builder's only articulation until 2026-12-04; the score-alignment material
    keeps it, so its renders and tests stay as they were)."""
    return "detached", float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.0, 0.01))


def performance_midi(
    notes,
    tempo: TempoMap,
    programs: list[int],
    rng,
    start_q: float,
    lead_in_s: float,
    downbeats_q=(),
    articulation=draw_articulation,
):
    """The notes (NOTE_DTYPE, already cut to the window) played on the tempo map, time 0 at lead-in before
    start_q, with `articulation(rng)` and the notes starting on `downbeats_q` (the bars' first beats, in the
    notes' quarters) a little louder; returns (PrettyMIDI, what was drawn). Parts beyond 15 share the last
    channels' instruments."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    count = min(len(programs), MAX_CHANNELS)
    instruments = [pretty_midi.Instrument(program=programs[p]) for p in range(count)]
    midi.instruments.extend(instruments)
    balance_db = rng.uniform(-6.0, 3.0, count)
    style, legato, jitter_s = articulation(rng)
    accent = rng.uniform(0.0, 10.0)  # a slightly heavier downbeat, as players do
    origin = float(tempo.seconds(start_q)) - lead_in_s
    starts = tempo.seconds(notes["onset_q"]) - origin + rng.normal(0.0, jitter_s, len(notes))
    ends = tempo.seconds(notes["onset_q"] + notes["duration_q"] * legato) - origin
    ends = _cut_before_repeats(notes["part"] % count, notes["pitch"], starts, ends)
    on_downbeat = _on_any(notes["onset_q"], np.asarray(downbeats_q, np.float64))
    for note, start, end, stressed in zip(notes, starts, ends, on_downbeat, strict=True):
        part = int(note["part"]) % count
        velocity = note["velocity"] * 10 ** (balance_db[part] / 40) + rng.normal(0.0, 4.0)
        velocity += accent * stressed
        start = max(0.0, float(start))
        instruments[part].notes.append(
            pretty_midi.Note(
                int(np.clip(velocity, 1, 127)),
                int(np.clip(note["pitch"], 0, 127)),
                start,
                max(end, start + 0.04),
            )
        )
    last = max((n.end for i in instruments for n in i.notes), default=0.0)
    # an inaudible controller after the last note: fluidsynth renders until the last event, so releases ring
    instruments[0].control_changes.append(pretty_midi.ControlChange(3, 0, last + TAIL_S))
    drawn = {
        "balance_db": np.round(balance_db, 2).tolist(),
        "articulation": style,
        "legato": round(float(legato), 3),
        "timing_jitter_s": round(float(jitter_s), 4),
        "downbeat_accent": round(float(accent), 2),
    }
    return midi, drawn


def synthesize(
    midi, soundfont: Path, rng, folder: Path | None = None, evaluation: bool = False
) -> tuple[np.ndarray, dict]:
    """Render a PrettyMIDI through the fluidsynth program to 22050 Hz mono float32 (with its drawn settings);
    only an evaluation render may use the held-out Fluid R3 timbre."""
    import soundfile

    exe = fluidsynth_executable()
    if exe is None:
        raise RenderError("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    if not evaluation:
        check_training_soundfont(soundfont)
    reverb, chorus = int(rng.random() < 0.5), int(rng.random() < 0.3)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        midi_path, wav_path = Path(tmp) / "take.mid", Path(tmp) / "take.wav"
        midi.write(str(midi_path))
        command = [
            exe,
            "-ni",
            "-q",
            "-r",
            str(SAMPLE_RATE),
            "-g",
            "0.6",
            "-R",
            str(reverb),
            "-C",
            str(chorus),
            "-o",
            "synth.cpu-cores=1",
            "-o",
            "synth.dynamic-sample-loading=1",
            "-F",
            str(wav_path),
            "-T",
            "wav",
            str(soundfont),
            str(midi_path),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0 or not wav_path.is_file():
            why = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            raise RenderError(f"fluidsynth failed on {soundfont.name}: {why[0]}")
        audio, rate = soundfile.read(wav_path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RenderError(f"fluidsynth wrote {rate} Hz instead of {SAMPLE_RATE} Hz")
    if not np.abs(audio).max(initial=0.0) >= SILENT_PEAK:
        raise RenderError(f"fluidsynth rendered silence with {soundfont.name}: no sample is written from it")
    return audio.mean(axis=1), {"fluidsynth_reverb": bool(reverb), "fluidsynth_chorus": bool(chorus)}
