"""The beat decoder's settings on development renders, in seconds: the network runs once per piece (its
activations cached, keyed by the weights file and the render files), then the decoder runs once per setting.

    .venv/bin/python benchmarks/tune_beat_decoder.py --set development=/tmp/bt_dev --set chorales=/tmp/chdev \
        [--weights RUN/beat_tracker.npz] [--cache /tmp/decoder_cache.npz] [--per-piece] \
        [--vary holds.FILL_DEVIATION=1.05,1.1,1.2] [--vary decoder.BEAT_SLIP=0.03,0.05]

For the shipped settings and each value of each --vary (one constant of `vconductor.beat_tracking.decoder` or
`.holds` at a time): mean beat F and downbeat F (+-70 ms) per set, its pieces with beat F under 0.6, the
downbeat F and beat F of all sets' pieces together (each piece weighing the same, as the decoder's constants
were chosen: docs/beat-tracker.md, "Tuning the decoder") and the bars of the bundled example (it must stay in
4). Sets are folders of renders (`vconductor beats-data build`); only development renders belong here, never
held-out ones.
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
from _common import REPO
from tqdm import tqdm

from vconductor.beat_tracking import FEATURES_VERSION, decoder, file_frames, holds
from vconductor.beat_tracking.tracker import packaged_weights_path, tracker_network
from vconductor.metrics import beat_f_measure

TOLERANCE_S = 0.07
EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
MODULES = {"decoder": decoder, "holds": holds}


def activations(sets: dict[str, Path], weights: Path, cache: Path | None) -> dict[str, np.ndarray]:
    """{"set/piece": (n, 2) activations} of every render and of the example ("example"), from `cache` when it
    was made with the same weights, features and render files (a rebuilt folder reuses the names)."""
    files = "".join(f"{s}/{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for s, p in renders(sets))
    key = hashlib.sha256(weights.read_bytes() + FEATURES_VERSION.encode() + files.encode()).hexdigest()
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            found = {name: stored[name] for name in stored.files if name != "key"}
            if str(stored["key"]) == key and all(f"{s}/{p.stem}" in found for s, p in renders(sets)):
                return found
    network = tracker_network(weights)
    paths = [(f"{s}/{p.stem}", p) for s, p in renders(sets)] + [("example", EXAMPLE)]
    found = {name: network.activations(file_frames(path)) for name, path in tqdm(paths, desc="activations")}
    if cache is not None:  # written whole, then moved into place: never a half-written cache
        partial = cache.with_name(cache.name + ".partial")
        with open(partial, "wb") as out:
            np.savez(out, key=np.array(key), **found)
        partial.replace(cache)
    return found


def renders(sets: dict[str, Path]) -> list[tuple[str, Path]]:
    return [(name, path) for name, folder in sets.items() for path in sorted(folder.glob("*.flac"))]


def scores(sets: dict[str, Path], acts: dict[str, np.ndarray]) -> dict[str, list[tuple[str, float, float]]]:
    """{set: [(piece, beat F, downbeat F)]} with the decoder as it is now."""
    out: dict[str, list[tuple[str, float, float]]] = {name: [] for name in sets}
    for name, path in renders(sets):
        truth = json.loads(path.with_suffix(".json").read_text())
        tracked = decoder.decode(acts[f"{name}/{path.stem}"])
        beat = beat_f_measure(tracked.beats_s, np.asarray(truth["beats_s"]), TOLERANCE_S)[0]
        down = beat_f_measure(tracked.downbeats_s, np.asarray(truth["downbeats_s"]), TOLERANCE_S)[0]
        out[name].append((path.stem, beat, down))
    return out


def report(label: str, sets: dict[str, Path], acts: dict[str, np.ndarray], per_piece: bool) -> None:
    results = scores(sets, acts)
    cells = [
        f"{name} {np.mean([r[1] for r in rows]):.3f} / {np.mean([r[2] for r in rows]):.3f}"
        f" ({sum(r[1] < 0.6 for r in rows)} under 0.6)"
        for name, rows in results.items()
    ]
    every = [r[2] for rows in results.values() for r in rows]
    example = decoder.decode(acts["example"]).main_bar_length
    beats = [r[1] for rows in results.values() for r in rows]
    print(
        f"{label}: "
        + "; ".join(cells)
        + f"; all downbeats {np.mean(every):.4f}; all beats {np.mean(beats):.4f}"
        f"; example in {example}"
    )
    if per_piece:
        for name, rows in results.items():
            for piece, beat, down in rows:
                print(f"    {name}/{piece}: {beat:.3f} / {down:.3f}")


def varied(spec: str) -> tuple[str, list[float]]:
    """ "holds.FILL_DEVIATION=1.05,1.1" -> ("holds.FILL_DEVIATION", [1.05, 1.1]); SystemExit when unknown."""
    target, _, values = spec.partition("=")
    module, _, constant = target.partition(".")
    if module not in MODULES or not hasattr(MODULES[module], constant) or not values:
        raise SystemExit(f"--vary {spec}: give decoder.NAME=v1,v2 or holds.NAME=v1,v2 (a constant there)")
    return target, [float(v) for v in values.split(",")]


def set_constant(target: str, value) -> None:
    """One constant, in its module and wherever the decoder imported it by name."""
    module, _, constant = target.partition(".")
    setattr(MODULES[module], constant, value)
    if module != "decoder" and hasattr(decoder, constant):
        setattr(decoder, constant, value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", action="append", required=True, help="NAME=FOLDER of development renders")
    ap.add_argument("--weights", type=Path, default=None, help="a run's beat_tracker.npz (default: packaged)")
    ap.add_argument("--cache", type=Path, default=None, help="a .npz to keep the activations in")
    ap.add_argument("--vary", action="append", default=[], help="decoder.NAME=v1,v2 or holds.NAME=v1,v2")
    ap.add_argument("--per-piece", action="store_true")
    args = ap.parse_args()
    sets = {name: Path(folder) for name, _, folder in (s.partition("=") for s in args.set)}
    if missing := [str(f) for f in sets.values() if not any(f.glob("*.flac"))]:
        raise SystemExit(f"no renders in {', '.join(missing)}")
    sweeps = [varied(spec) for spec in args.vary]
    acts = activations(sets, args.weights or packaged_weights_path(), args.cache)
    report("shipped", sets, acts, args.per_piece)
    for target, values in sweeps:
        module, _, constant = target.partition(".")
        shipped = getattr(MODULES[module], constant)
        for value in values:
            set_constant(target, type(shipped)(value))
            report(f"{target} = {value:g}", sets, acts, args.per_piece)
        set_constant(target, shipped)


if __name__ == "__main__":
    main()
