#!/usr/bin/env python3
"""Render the bundled example piece: the "Ode to Joy" theme from Beethoven's Symphony No. 9.

Everything is synthesised (example_synth.py) from the note lists of example_score.py (the score is public
domain; no samples, soundfonts or recordings are used): bowed strings and winds by additive synthesis (detuned ensemble voices, delayed
vibrato, soft attacks, velocity-dependent brightness), pizzicato basses and timpani by decaying modes, a little
stereo spread and a light convolution reverb with a synthetic impulse response.

The excerpt is bars 1-4 and 9-16 of the theme (with Beethoven's syncopated re-entry into bar 13), in D major,
4/4, at 104 BPM: a piano first phrase (strings), a crescendo through the middle phrase (oboe, horns and a
timpani roll join), a forte last phrase (flute, timpani, basses an octave below), a ritardando over the last
five beats and a fermata on the final chord.

Writes ``ode_to_joy.ogg`` (44.1 kHz stereo Ogg Vorbis), ``ode_to_joy.json`` (the beat times that were
rendered) and ``ode_to_joy.musicxml`` (the score, written with music21: example_musicxml.py) into the folder given as the only argument (default: this script's folder). The output is
deterministic: fixed seeds, and the Ogg stream serial number (random in libsndfile) is fixed afterwards.

    python examples/make_example.py [OUT_DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from example_musicxml import write_musicxml
from example_score import (
    BASS,
    BEAT_S,
    BEATS_PER_BAR,
    BPM,
    CHORDS,
    FERMATA_BEAT,
    FLUTE_FROM_BEAT,
    HORNS_FROM_BEAT,
    MELODY,
    OBOE_FROM_BEAT,
    PAN,
    PIZZICATO,
    RELEASE_S,
    RIT_BPM,
    TIMPANI,
    TOTAL_S,
)
from example_synth import SR, Mixer, bowed, pizzicato, reverb, timpani, wind

SEED = 1824  # year of the first performance
BASENAME = "ode_to_joy"
TITLE = "Ode to Joy (theme from the finale of Symphony No. 9 in D minor, Op. 125)"
COMPOSER = "Ludwig van Beethoven (1770-1827)"
PEAK_DBFS = -1.0
OGG_SERIAL = 0x0DE70A07  # fixed Ogg bitstream serial number (libsndfile picks a random one)


def layer_rng(layer: int, index: int) -> np.random.Generator:
    """The generator of note `index` of one layer of the orchestra: each note's randomness is its own."""
    return np.random.default_rng([SEED, layer, index])


def add_melody(mix: Mixer) -> None:
    """First violins, with the oboe doubling from bar 5 and the flute an octave up from bar 9."""
    violins = {"pan": PAN["violins"], "width": 0.2, "voices": 4, "attack_s": 0.045, "bite": 1.0}
    flute = {"kind": "flute", "pan": PAN["flute"], "level": 0.45, "transpose": 12}
    for i, (pitch, start, dur, vel) in enumerate(MELODY):
        bowed(mix, pitch, start, dur, vel, layer_rng(1, i), **violins)
        if start >= OBOE_FROM_BEAT:
            wind(mix, pitch, start, dur, vel - 6, layer_rng(2, i), kind="oboe", pan=PAN["oboe"], level=0.55)
        if start >= FLUTE_FROM_BEAT:
            wind(mix, pitch, start, dur, vel - 4, layer_rng(3, i), **flute)


def add_chords(mix: Mixer) -> None:
    """Violas and second violins, with the horns from bar 7."""
    horns = {"kind": "horn", "pan": PAN["horns"], "level": 0.42, "voices": 2}
    for i, (chord, start, dur, vel) in enumerate(CHORDS):
        for j, pitch in enumerate(chord):
            rng = layer_rng(4, 10 * i + j)
            bowed(mix, pitch, start, dur, vel, rng, pan=PAN["inner"], width=0.3, level=0.42)
            if start >= HORNS_FROM_BEAT:
                wind(mix, pitch, start, dur, vel - 6, layer_rng(5, 10 * i + j), **horns)


def add_bass(mix: Mixer) -> None:
    """Cellos, and the double basses an octave lower (arco) in the forte phrase."""
    cellos = {"pan": PAN["cellos"], "width": 0.12, "level": 0.55, "attack_s": 0.06, "darkness": 0.5}
    basses = {"pan": PAN["basses"], "width": 0.08, "level": 0.6, "attack_s": 0.08, "darkness": 0.8}
    for i, (pitch, start, dur, vel) in enumerate(BASS):
        bowed(mix, pitch, start, dur, vel, layer_rng(6, i), **cellos)
        if start >= 32.0:
            low = f"{pitch[:-1]}{int(pitch[-1]) - 1}"
            bowed(mix, low, start, dur, vel - 8, layer_rng(7, i), **basses)


def add_percussion(mix: Mixer) -> None:
    """Pizzicato downbeats in the basses, then the timpani."""
    for i, (pitch, start, vel) in enumerate(PIZZICATO):
        pizzicato(mix, pitch, start, vel, layer_rng(8, i), pan=PAN["basses"])
    for i, (pitch, start, vel, roll, vel_end) in enumerate(TIMPANI):
        timpani(mix, pitch, start, vel, roll, vel_end, layer_rng(9, i), pan=PAN["timpani"])


def render() -> np.ndarray:
    """The whole piece as float32 (n, 2), peak at PEAK_DBFS."""
    mix = Mixer(TOTAL_S)
    # This order is part of the output: the layers are summed into one buffer in floating point.
    add_melody(mix)
    add_chords(mix)
    add_bass(mix)
    add_percussion(mix)

    out = reverb(mix.out, layer_rng(10, 0))
    # Fade the reverb tail out so that the last second is silent.
    t = np.arange(out.shape[1]) / SR
    fade = np.clip((t - (RELEASE_S + 0.4)) / 1.0, 0.0, 1.0)
    out *= 0.5 + 0.5 * np.cos(np.pi * fade)
    out *= 10.0 ** (PEAK_DBFS / 20.0) / np.max(np.abs(out))
    return out.T.astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def _ogg_crc_table() -> list[int]:
    """The CRC-32 lookup table of Ogg pages (polynomial 0x04C11DB7, no reflection, unlike zlib's)."""
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


def fix_ogg_serial(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """Give every Ogg page the same fixed stream serial number and recompute the page checksums."""
    table = _ogg_crc_table()
    buf = bytearray(data)
    pos = 0
    while pos < len(buf):
        if buf[pos : pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        n_seg = buf[pos + 26]
        size = 27 + n_seg + sum(buf[pos + 27 : pos + 27 + n_seg])
        buf[pos + 14 : pos + 18] = serial.to_bytes(4, "little")
        buf[pos + 22 : pos + 26] = b"\0\0\0\0"
        crc = 0
        for byte in buf[pos : pos + size]:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
        buf[pos + 22 : pos + 26] = crc.to_bytes(4, "little")
        pos += size
    return bytes(buf)


def ground_truth(duration_s: float) -> dict:
    """What was rendered, for checking beat trackers and conducting against: beats, tempo map, dynamics."""
    beats = [round(float(b), 4) for b in BEAT_S]
    tempo_map = [[beats[0], BPM]] + [[beats[b], bpm] for b, bpm in sorted(RIT_BPM.items())]
    bar_names = [f"bar {b // BEATS_PER_BAR + 1} beat {b % BEATS_PER_BAR + 1}" for b in (0, 16, 32, 42, 46)]
    return {
        "title": TITLE,
        "composer": COMPOSER,
        "source": "rendered by examples/make_example.py",
        "sample_rate": SR,
        "channels": 2,
        "duration_s": round(duration_s, 4),
        "key": "D major",
        "meter": "4/4",
        "excerpt": "bars 1-4 and 9-16 of the theme (12 bars here), Beethoven's syncopated re-entry into bar 13",
        "tempo_map_bpm": tempo_map,
        "beats_s": beats,
        "downbeats_s": beats[::BEATS_PER_BAR],
        "fermata_s": [beats[FERMATA_BEAT], round(RELEASE_S, 4)],
        "dynamics": [
            [beats[0], "p", bar_names[0]],
            [beats[16], "crescendo", bar_names[1]],
            [beats[32], "f", bar_names[2]],
            [beats[42], "ritardando", bar_names[3]],
            [beats[46], "fermata", bar_names[4]],
        ],
        "notes": {
            "beats_s": "every beat from the first downbeat to the fermata chord (bar 12 beat 3); "
            "the fermata holds instead of beat 4",
            "tempo_map_bpm": "[time_s, bpm]: the tempo from that beat until the next entry (local tempo "
            "of each beat of the ritardando)",
        },
    }


def compact_json(obj: dict) -> str:
    """Indented JSON with every innermost list (numbers, short pairs) kept on one line."""
    text = json.dumps(obj, indent=2)
    inner_list = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")

    def one_line(match: re.Match) -> str:
        return "[" + ", ".join(item.strip() for item in match.group(1).split(",\n")) + "]"

    return inner_list.sub(one_line, text) + "\n"


def write_ogg(audio: np.ndarray, path: Path) -> None:
    """Ogg Vorbis with a title and a fixed stream serial number, so that the file is byte-for-byte repeatable."""
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 2, format="OGG", subtype="VORBIS") as ogg:
        ogg.title = "Ode to Joy"
        ogg.artist = COMPOSER
        ogg.comment = "rendered by examples/make_example.py"
        ogg.write(audio)
    path.write_bytes(fix_ogg_serial(buf.getvalue()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    audio = render()
    ogg_path = args.out_dir / f"{BASENAME}.ogg"
    write_ogg(audio, ogg_path)
    duration = len(audio) / SR

    json_path = args.out_dir / f"{BASENAME}.json"
    json_path.write_text(compact_json(ground_truth(duration)))

    score_path = args.out_dir / f"{BASENAME}.musicxml"
    write_musicxml(score_path)

    for path in (ogg_path, json_path, score_path):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"duration {duration:.2f} s, {SR} Hz stereo, {len(BEAT_S)} beats, fermata at {BEAT_S[-1]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
