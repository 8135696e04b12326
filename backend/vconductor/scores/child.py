"""The reading child (scores/reading.py starts it): `python -m vconductor.scores.child FILE NAME MEMORY_BYTES`.

Parses an already checked MusicXML or MIDI file with music21 under an address-space limit and prints its
timeline as JSON (exit 0), or one line saying why it is unusable (exit 3). Anything else (a crash, the memory
limit) is the parent's to report.
"""

import sys


def main(argv: list[str]) -> int:
    import resource

    path, name, memory = argv[0], argv[1], int(argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from .music import ScoreError
    from .timeline import score_timeline, to_json

    try:
        score = _parse(path)
        timeline = score_timeline(score, name)
    except ScoreError as exc:
        print(str(exc))
        return 3
    except MemoryError:
        raise
    except Exception as exc:  # music21 and mido raise many kinds for a file they cannot read
        print(f"not a readable score ({type(exc).__name__}: {str(exc)[:80]})")
        return 3
    sys.stdout.write(to_json(timeline))
    return 0


def _parse(path: str):
    import warnings

    from music21 import converter, stream

    from .music import ScoreError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = converter.parse(path, forceSource=True)
    if isinstance(parsed, stream.Opus):
        if not parsed.scores:
            raise ScoreError("an empty collection of scores")
        parsed = parsed.scores[0]
    return parsed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
