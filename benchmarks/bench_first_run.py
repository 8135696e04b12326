"""First-run speed (issue 12): the procedural conductor in a fresh install against the learned model, and the
analysis of 10 minutes of music.

1. `vconductor generate --model procedural` on the bundled example, each run a fresh process with an EMPTY numba
   cache (NUMBA_CACHE_DIR a new folder: what a user's first run meets), then with a warm one;
2. the same file through the learned model (the official weights from ../shared when present, else random
   weights of the same architecture: the same amount of work);
3. in one process: decoding and analysing a 10-minute piece (real music from the corpus, looped).

Goals: (1) no more than 1.5x (2); analysis of 10 minutes well under 2 s.

    .venv/bin/python benchmarks/bench_first_run.py [--runs 3]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import REPO, describe, long_piece, machine, timed_runs
from bench_service import register_learned

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
VC = str(REPO / ".venv" / "bin" / "vconductor")


def generate_walls(model: str, runs: int, tmp: Path, fresh_numba: bool) -> list[float]:
    """Wall seconds of `runs` fresh `vconductor generate` processes on the example."""
    walls = []
    for run in range(runs):
        env = dict(os.environ)
        if fresh_numba:
            env["NUMBA_CACHE_DIR"] = str(Path(tempfile.mkdtemp(dir=tmp, prefix=f"numba-{run}-")))
        cmd = [VC, "generate", str(EXAMPLE), "-o", str(tmp / "out.npz"), "--model", model, "-q"]
        walls += timed_runs(cmd, 1, env=env)[0]
    return walls


def analysis_seconds(piece: Path, runs: int) -> dict[str, list[float]]:
    """Seconds of each stage of each run, in this process (warm imports): decoding into the spectrogram, our
    beat tracker (network + decoder), and the procedural conductor's analysis with each beat source."""
    from vconductor.audio import audio_spectrogram
    from vconductor.beat_tracking.tracker import track_spectrogram
    from vconductor.conducting import analyze

    stages: dict[str, list[float]] = {"decode": [], "tracker": [], "classic": [], "network": []}
    for run in range(runs + 1):  # the first run warms imports and caches: not counted
        t0 = time.perf_counter()
        spectrogram = audio_spectrogram(piece)
        t1 = time.perf_counter()
        tracked = track_spectrogram(spectrogram)
        t2 = time.perf_counter()
        analyze(spectrogram)
        t3 = time.perf_counter()
        analyze(spectrogram, tracked=tracked)
        t4 = time.perf_counter()
        spectrogram.close()
        if run:
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[name].append(seconds)
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        learned = register_learned(home, tmp)
        first = generate_walls("procedural", args.runs, tmp, fresh_numba=True)
        warm = generate_walls("procedural", args.runs, tmp, fresh_numba=False)
        model = generate_walls(learned, args.runs, tmp, fresh_numba=False)
        print(f"example ({EXAMPLE.name}), fresh processes:")
        print(f"  procedural, empty numba cache: {describe(first)}")
        print(f"  procedural, warm numba cache:  {describe(warm)}")
        print(f"  learned ({learned}):            {describe(model)}")
        ratio = statistics.median(first) / statistics.median(model)
        print(f"  first procedural run / learned: x{ratio:.2f} (goal: at most x1.5)")
        piece = long_piece(tmp / "ten-minutes.flac", 600.0, rate=22050)
        stages = analysis_seconds(piece, args.runs)
        print("10 minutes of music, in one process:")
        print(f"  decode + spectrogram:                {describe(stages['decode'])}")
        print(f"  beat tracker (network + decoder):    {describe(stages['tracker'])} (goal: well under 2 s)")
        print(f"  procedural analysis, classic beats:  {describe(stages['classic'])}")
        print(f"  procedural analysis, tracker's beats: {describe(stages['network'])} (after the tracker)")


if __name__ == "__main__":
    main()
