"""Where each section sits, seen from the podium, in the standard modern (American) seating: an instrument or
part name as a score writes it (English, Italian, German, French, abbreviations, General MIDI program names)
-> its section and the direction to it (docs/conducting.md#score)."""

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Seat:
    section: str
    azimuth_deg: float  # from straight ahead, positive towards the conductor's left (+x in the body frame)
    elevation_deg: float  # the rows further back are looked at a little higher

    @property
    def direction(self) -> np.ndarray:
        """Unit vector (x, y, z) in the body frame (x the conductor's left, y down, z forward)."""
        az, el = np.radians(self.azimuth_deg), np.radians(self.elevation_deg)
        return np.array([np.sin(az) * np.cos(el), -np.sin(el), np.cos(az) * np.cos(el)])

    @property
    def side(self) -> int:
        """+1 the conductor's left, -1 the right, 0 the centre (within 15 degrees of straight ahead)."""
        return 0 if abs(self.azimuth_deg) < 15 else int(np.sign(self.azimuth_deg))


SEATS = {
    "violins 1": Seat("violins 1", 55, 0),
    "violins 2": Seat("violins 2", 25, 2),
    "violas": Seat("violas", -25, 2),
    "cellos": Seat("cellos", -50, 0),
    "basses": Seat("basses", -65, 6),
    "harp and keyboards": Seat("harp and keyboards", 70, 2),
    "flutes": Seat("flutes", 6, 10),
    "oboes": Seat("oboes", -6, 10),
    "clarinets": Seat("clarinets", 6, 14),
    "bassoons": Seat("bassoons", -6, 14),
    "horns": Seat("horns", 22, 16),
    "brass": Seat("brass", -12, 18),
    "timpani and percussion": Seat("timpani and percussion", 0, 20),
    "voices": Seat("voices", 0, 24),
    "centre": Seat("centre", 0, 8),
}

# Word patterns per section, tried in this order (English horn before horn, contrabassoon and bass clarinet
# before bass, alto saxophone before alto). Matched against the lower-cased name with punctuation as spaces.
_NAMES = (
    ("oboes", r"english horn|englisch ?horn|cor anglais|corno inglese|oboe|oboi|hautbois|hoboe|\bob\b"),
    (
        "bassoons",
        r"contra ?bassoon|contrafagotto|kontrafagott|contrebasson|bassoon|fagott|basson|\bbsn\b|\bfg\b",
    ),
    ("clarinets", r"basset|clarinet|klarinette|\bcl\b|\bkl\b|\bclar\b|sax"),
    ("flutes", r"piccolo|ottavino|flaut|fl[oö]te|floete|flute|\bfl\b|\bpicc\b|recorder"),
    ("harp and keyboards", r"harp|arpa|harfe|harpe|piano|celest|organ|orgel|harpsichord|cembalo|clavecin"),
    (
        "timpani and percussion",
        r"timpan|pauke|timbales|\btimp\b|\bpk\b|percussion|schlag|drum|cymbal|becken"
        r"|snare|glocken|xylo|marimba|vibraphone|triangle|tam ?tam|gong|tubular|chimes",
    ),
    ("horns", r"french horn|waldhorn|\bhorn|h[oö]rner|corno|corni|\bcor\b|\bcors\b|\bhn\b|\bhr\b"),
    (
        "brass",
        r"trumpet|tromba|trombe|trompete|trompette|cornet|\btpt\b|\btrp?\b|trombon|posaune|\btbn\b"
        r"|\btrb\b|\bpos\b|tuba|euphonium|brass|flugel",
    ),
    ("cellos", r"violoncell|cello|celli|\bvc\b|\bvlc\b|\bvcl\b|\bvc\d"),
    (
        "basses",
        r"contrabass|contrabbass|kontrabass|contrebasse|double bass|string bass|\bbass|\bcb\b|\bkb\b"
        r"|\bdb\b|basso|b[aä]sse",
    ),
    ("violas", r"viola|viole|bratsche|\bvla\b|\bva\b"),
    ("violins", r"violin|violon|violino|violini|violine|geige|\bvln?\b|\bvn\b|\bvl\d|\bvln\d|\bvn\d"),
    ("voices", r"choir|chorus|chor|voice|voices|soprano|\balto\b|tenor|baritone|coro|aahs|oohs"),
)
_SECOND = r"(\b(2|ii|2nd|second|secondi|secondo|zweite|seconds)\b|[a-z]2\b)"


def seat_of(name: str) -> Seat:
    """The seat of the part called `name` ("Violin I", "Vln. 2", "Violoncello", "Horn in F", "Pauken",
    "String Ensemble 1"); an unknown name, or a whole section such as "Strings", sits at the centre."""
    text = " " + re.sub(r"[^a-z0-9äöüûéè]+", " ", str(name).lower()) + " "
    for section, pattern in _NAMES:
        if re.search(pattern, text):
            if section == "violins":
                section = "violins 2" if re.search(_SECOND, text) else "violins 1"
            return SEATS[section]
    return SEATS["centre"]
