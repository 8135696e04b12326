"""The bundled example's score as MusicXML (`ode_to_joy.musicxml`), written with music21 from the note lists
of example_score.py: what a notation program would export for the audio, so `--score` can be tried on it.

Eight parts named as a score names them (their seats give the left hand's cues), the written tempo (104) and
no more: the ritardando is a word ("rit.") and the final chord a fermata, so the audio's timing departs from the
score's at the end, as a performance's would. Dynamics: p, a crescendo through bars 5-8, f from bar 9.
"""

from __future__ import annotations

import re
from pathlib import Path

from example_score import (
    BASS,
    BPM,
    CHORDS,
    FERMATA_BEAT,
    FLUTE_FROM_BEAT,
    HORNS_FROM_BEAT,
    MELODY,
    OBOE_FROM_BEAT,
    PIZZICATO,
    RIT_BPM,
    TIMPANI,
)

CRESCENDO_BEATS = (16.0, 32.0)  # bars 5-8
FORTE_BEAT = 32.0  # bar 9
END_BEAT = FERMATA_BEAT + 2.0


def _notes(rows, transpose: int = 0, from_beat: float = 0.0, octave_down_from: float | None = None):
    """(pitches, start, length) of note-list rows (single pitches or chords) from `from_beat` on."""
    out = []
    for pitches, start, length in rows:
        if start < from_beat:
            continue
        shift = transpose - (12 if octave_down_from is not None and start >= octave_down_from else 0)
        out.append((tuple(pitches) if isinstance(pitches, tuple) else (pitches,), start, length, shift))
    return out


def _parts():
    melody = [(p, s, d) for p, s, d, _ in MELODY]
    bass = [(p, s, d) for p, s, d, _ in BASS]
    return [
        ("Flute", 73, _notes(melody, 12, FLUTE_FROM_BEAT)),
        ("Oboe", 68, _notes(melody, 0, OBOE_FROM_BEAT)),
        ("Horns", 60, _notes([(c, s, d) for c, s, d, _ in CHORDS], 0, HORNS_FROM_BEAT)),
        ("Timpani", 47, _notes([(p, s, r or 1.0) for p, s, _, r, _ in TIMPANI])),
        ("Violin I", 40, _notes(melody)),
        ("Viola", 41, _notes([(c, s, d) for c, s, d, _ in CHORDS])),
        ("Violoncello", 42, _notes(bass)),
        ("Contrabass", 43, _notes([(p, s, 1.0) for p, s, _ in PIZZICATO]) + _notes(bass, -12, FORTE_BEAT)),
    ]


def _part(name: str, program: int, notes):
    from music21 import chord, dynamics, expressions, instrument, note, stream

    part = stream.Part()
    player = instrument.Instrument()
    player.partName, player.instrumentName, player.midiProgram = name, name, program
    part.insert(0, player)
    first = notes[0][1]
    part.insert(first, dynamics.Dynamic("f" if first >= FORTE_BEAT else "p"))
    if first < CRESCENDO_BEATS[0]:
        part.insert(FORTE_BEAT, dynamics.Dynamic("f"))
    swelling = []
    for pitches, start, length, shift in notes:
        sounding = [note.Note(p).transpose(shift).pitch for p in pitches]
        element = chord.Chord(sounding) if len(sounding) > 1 else note.Note(sounding[0])
        element.quarterLength = length
        if start >= FERMATA_BEAT:
            element.expressions.append(expressions.Fermata())
        part.insert(start, element)
        if CRESCENDO_BEATS[0] <= start < CRESCENDO_BEATS[1]:
            swelling.append(element)
    if len(swelling) > 1:
        part.insert(swelling[0].offset, dynamics.Crescendo(swelling[0], swelling[-1]))
    return part


def score():
    """The example's score as a music21 Score (4/4, D major, 104 quarter BPM)."""
    from music21 import expressions, key, metadata, meter, stream, tempo

    piece = stream.Score()
    piece.metadata = metadata.Metadata(title="Ode to Joy", composer="Ludwig van Beethoven")
    for index, (name, program, notes) in enumerate(_parts()):
        part = _part(name, program, notes)
        part.insert(0, meter.TimeSignature("4/4"))
        part.insert(0, key.Key("D"))
        if index == 0:
            part.insert(0, tempo.MetronomeMark(number=BPM, referent=1.0))
            part.insert(min(RIT_BPM), expressions.TextExpression("rit."))
        piece.insert(0, part.makeNotation())
    return piece


def write_musicxml(path) -> None:
    """Write the score; the file is the same on every run (music21's encoding date is left out)."""
    path = Path(path)
    score().write("musicxml", fp=str(path))
    path.write_text(re.sub(r"\s*<encoding-date>[^<]*</encoding-date>", "", path.read_text(encoding="utf-8")))
