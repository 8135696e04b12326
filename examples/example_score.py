"""The score of the bundled example: the "Ode to Joy" theme as note lists, its tempo map and its arrangement.

Beats count from 0 at the first downbeat (bar b starts at beat 4 * (b - 1)); velocities are MIDI style 1-127.
Bars 1-4 of the theme are bars 1-4 here, bars 9-16 of the theme are bars 5-12 here.
"""

from __future__ import annotations

import numpy as np

BPM = 104.0
LEAD_IN_S = 0.6  # silence before the first downbeat
BEATS_PER_BAR = 4
# Ritardando: local tempo (BPM) of the beats from bar 11 beat 3 on; every other beat is at BPM.
RIT_BPM = {42: 97.0, 43: 89.0, 44: 81.0, 45: 74.0}
FERMATA_BEAT = 46  # bar 12 beat 3: the final chord, held instead of two beats ...
FERMATA_HOLD_S = 2.2  # ... for this long, then released
FINAL_RELEASE_S = 0.45
TAIL_S = 2.6  # after the release: reverb tail fading out, then about a second of silence

# (pitch, start beat, duration in beats, velocity): first violins; the oboe doubles it from bar 5, the flute
# an octave higher from the syncopated F# that leads into bar 9.
MELODY = [
    # bar 1 (p)
    ("F#5", 0.0, 1.0, 46),
    ("F#5", 1.0, 1.0, 48),
    ("G5", 2.0, 1.0, 50),
    ("A5", 3.0, 1.0, 53),
    # bar 2
    ("A5", 4.0, 1.0, 54),
    ("G5", 5.0, 1.0, 52),
    ("F#5", 6.0, 1.0, 50),
    ("E5", 7.0, 1.0, 48),
    # bar 3
    ("D5", 8.0, 1.0, 46),
    ("D5", 9.0, 1.0, 46),
    ("E5", 10.0, 1.0, 48),
    ("F#5", 11.0, 1.0, 51),
    # bar 4: half cadence
    ("F#5", 12.0, 1.5, 52),
    ("E5", 13.5, 0.5, 47),
    ("E5", 14.0, 2.0, 45),
    # bar 5 (crescendo from here)
    ("E5", 16.0, 1.0, 54),
    ("E5", 17.0, 1.0, 56),
    ("F#5", 18.0, 1.0, 59),
    ("D5", 19.0, 1.0, 60),
    # bar 6
    ("E5", 20.0, 1.0, 63),
    ("F#5", 21.0, 0.5, 65),
    ("G5", 21.5, 0.5, 66),
    ("F#5", 22.0, 1.0, 67),
    ("D5", 23.0, 1.0, 68),
    # bar 7
    ("E5", 24.0, 1.0, 71),
    ("F#5", 25.0, 0.5, 73),
    ("G5", 25.5, 0.5, 74),
    ("F#5", 26.0, 1.0, 76),
    ("E5", 27.0, 1.0, 79),
    # bar 8: the F# of bar 9 enters a beat early, tied over the bar line (Beethoven's syncopation)
    ("D5", 28.0, 1.0, 83),
    ("E5", 29.0, 1.0, 87),
    ("A4", 30.0, 1.0, 91),
    ("F#5", 31.0, 2.0, 100),
    # bar 9 (f)
    ("F#5", 33.0, 1.0, 104),
    ("G5", 34.0, 1.0, 106),
    ("A5", 35.0, 1.0, 108),
    # bar 10
    ("A5", 36.0, 1.0, 108),
    ("G5", 37.0, 1.0, 106),
    ("F#5", 38.0, 1.0, 104),
    ("E5", 39.0, 1.0, 102),
    # bar 11 (ritardando from beat 3)
    ("D5", 40.0, 1.0, 102),
    ("D5", 41.0, 1.0, 102),
    ("E5", 42.0, 1.0, 104),
    ("F#5", 43.0, 1.0, 106),
    # bar 12: final cadence, fermata on the last note
    ("E5", 44.0, 1.5, 106),
    ("D5", 45.5, 0.5, 100),
    ("D5", 46.0, 2.0, 110),
]

# (chord pitches, start beat, duration in beats, velocity): violas and second violins (horns join in bar 7).
D, A, A7 = ("A3", "D4", "F#4"), ("A3", "C#4", "E4"), ("A3", "C#4", "G4")
G, BM, E = ("B3", "D4", "G4"), ("B3", "D4", "F#4"), ("G#3", "B3", "E4")
CHORDS = [
    # bar 1: I
    (D, 0.0, 4.0, 42),
    # bar 2: V I V
    (A, 4.0, 2.0, 44),
    (D, 6.0, 1.0, 42),
    (A, 7.0, 1.0, 41),
    # bar 3: I V I
    (D, 8.0, 2.0, 40),
    (A, 10.0, 1.0, 42),
    (D, 11.0, 1.0, 44),
    # bar 4: I V (half cadence)
    (D, 12.0, 2.0, 44),
    (A, 14.0, 2.0, 40),
    # bar 5: V I
    (A, 16.0, 2.0, 48),
    (D, 18.0, 2.0, 52),
    # bar 6: V I IV
    (A, 20.0, 1.0, 56),
    (D, 21.0, 2.0, 59),
    (G, 23.0, 1.0, 61),
    # bar 7: V I vi V/V
    (A, 24.0, 1.0, 64),
    (D, 25.0, 1.0, 67),
    (BM, 26.0, 1.0, 70),
    (E, 27.0, 1.0, 73),
    # bar 8: I6/4 V (half cadence)
    (D, 28.0, 1.0, 77),
    (A, 29.0, 3.0, 84),
    # bar 9: I
    (D, 32.0, 4.0, 100),
    # bar 10: V I V
    (A, 36.0, 2.0, 100),
    (D, 38.0, 1.0, 98),
    (A, 39.0, 1.0, 96),
    # bar 11: I V I
    (D, 40.0, 2.0, 96),
    (A, 42.0, 1.0, 98),
    (D, 43.0, 1.0, 100),
    # bar 12: V7 I (fermata)
    (A7, 44.0, 2.0, 100),
    (D, 46.0, 2.0, 104),
]

# (pitch, start beat, duration in beats, velocity): cellos; the double basses double it an octave lower in
# bars 9-12 (before that they play pizzicato downbeats).
BASS = [
    # bar 1
    ("D3", 0.0, 2.0, 46),
    ("D3", 2.0, 2.0, 44),
    # bar 2
    ("A2", 4.0, 2.0, 46),
    ("D3", 6.0, 1.0, 44),
    ("A2", 7.0, 1.0, 43),
    # bar 3
    ("D3", 8.0, 2.0, 42),
    ("A2", 10.0, 1.0, 44),
    ("D3", 11.0, 1.0, 46),
    # bar 4
    ("D3", 12.0, 2.0, 46),
    ("A2", 14.0, 2.0, 42),
    # bar 5
    ("A2", 16.0, 2.0, 50),
    ("D3", 18.0, 2.0, 54),
    # bar 6
    ("A2", 20.0, 1.0, 58),
    ("F#2", 21.0, 1.0, 60),
    ("D3", 22.0, 1.0, 62),
    ("G2", 23.0, 1.0, 63),
    # bar 7
    ("A2", 24.0, 1.0, 66),
    ("F#2", 25.0, 1.0, 68),
    ("B2", 26.0, 1.0, 71),
    ("E2", 27.0, 1.0, 74),
    # bar 8
    ("A2", 28.0, 4.0, 82),
    # bar 9
    ("D3", 32.0, 2.0, 102),
    ("D3", 34.0, 2.0, 100),
    # bar 10
    ("A2", 36.0, 2.0, 100),
    ("D3", 38.0, 1.0, 98),
    ("A2", 39.0, 1.0, 96),
    # bar 11
    ("D3", 40.0, 2.0, 98),
    ("A2", 42.0, 1.0, 100),
    ("D3", 43.0, 1.0, 102),
    # bar 12
    ("A2", 44.0, 2.0, 102),
    ("D3", 46.0, 2.0, 106),
]

# (pitch, start beat, velocity): double-bass pizzicato (cellos an octave up) on the downbeats of bars 1-8.
PIZZICATO = [
    ("D2", 0.0, 58),
    ("A1", 4.0, 56),
    ("D2", 8.0, 54),
    ("D2", 12.0, 56),
    ("A1", 16.0, 62),
    ("A1", 20.0, 68),
    ("A1", 24.0, 76),
    ("A1", 28.0, 86),
]

# (pitch, start beat, velocity, roll length in beats or 0, roll end velocity): timpani tuned to A2 and D3.
TIMPANI = [
    ("A2", 28.0, 40, 4.0, 92),  # roll through bar 8, crescendo into ...
    ("D3", 32.0, 104, 0.0, 0),
    ("A2", 36.0, 96, 0.0, 0),
    ("D3", 40.0, 96, 0.0, 0),
    ("A2", 44.0, 98, 0.0, 0),
    ("D3", 46.0, 100, 2.0, 58),  # the fermata: a stroke, then a roll dying away
]

OBOE_FROM_BEAT = 16.0
FLUTE_FROM_BEAT = 31.0  # the syncopated F# that leads into bar 9
HORNS_FROM_BEAT = 24.0

# Stereo placement (-1 left .. +1 right), orchestra-style.
PAN = {
    "violins": -0.45,
    "inner": 0.15,
    "cellos": 0.45,
    "basses": 0.65,
    "oboe": 0.05,
    "flute": -0.15,
    "horns": -0.3,
    "timpani": -0.1,
}

# ---------------------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------------------


def beat_seconds() -> np.ndarray:
    """Time (s) of every integer beat 0..FERMATA_BEAT, ritardando included."""
    durations = [60.0 / RIT_BPM.get(b, BPM) for b in range(FERMATA_BEAT)]
    return LEAD_IN_S + np.concatenate([[0.0], np.cumsum(durations)])


BEAT_S = beat_seconds()
RELEASE_S = BEAT_S[FERMATA_BEAT] + FERMATA_HOLD_S  # when the final chord is let go
TOTAL_S = RELEASE_S + TAIL_S


def beat_time(beat: float) -> float:
    """Seconds at a (fractional) beat; beats under the fermata stretch to FERMATA_HOLD_S."""
    if beat >= FERMATA_BEAT:
        return float(BEAT_S[FERMATA_BEAT] + (beat - FERMATA_BEAT) / 2.0 * FERMATA_HOLD_S)
    return float(np.interp(beat, np.arange(len(BEAT_S)), BEAT_S))


def midi(name: str) -> int:
    """'F#5' -> 78, 'Bb3' -> 58 (C4 = 60)."""
    steps = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    pitch, rest = steps[name[0]], name[1:]
    while rest and rest[0] in "#b":
        pitch += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return pitch + 12 * (int(rest) + 1)
