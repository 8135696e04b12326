"""Carry a beats-data folder's training input to another machine (a GPU box) in a few compact files.

    .venv/bin/python scripts/pack_beat_features.py pack DATA OUT --bits 6 --chunk-mb 55
    python3 scripts/pack_beat_features.py unpack OUT DEST   # on the other machine, then train on DEST

`pack` writes OUT.part00, OUT.part01, ...: one xz stream of every sample's labels and its cached input frames
(beat_samples.cached_frames), quantised to `bits` (6: 1.3 dB steps over the 80 dB scale) and stored band by
band as differences along time (about 4x smaller than the float16 cache). `unpack` rebuilds a folder that
`vconductor train beats DEST` reads without the audio: NAME.json (labels), an empty NAME.flac and the feature
cache, each nonzero value spread uniformly over its quantisation step so no level is favoured. `--partial`
unpacks the samples of the first parts only (to try a run while the rest is on its way).
"""

import argparse
import json
import lzma
import struct
import sys
from pathlib import Path

import numpy as np

HEADER = struct.Struct("<Q")


def pack(data: Path, out: Path, bits: int, chunk_mb: float) -> None:
    from tqdm import tqdm

    from vconductor.beat_tracking import FEATURES_VERSION
    from vconductor.training.beat_samples import cached_frames, list_samples

    samples, top = list_samples(data), 2**bits - 1
    header = {"bits": bits, "features_version": FEATURES_VERSION, "samples": []}
    body = []
    for s in tqdm(samples, desc="pack", unit="sample"):
        q = np.rint(np.asarray(cached_frames(data, s), np.float32).T * top).clip(0, top).astype(np.int16)
        body.append((np.diff(q, axis=1, prepend=0) % 256).astype(np.uint8).tobytes())
        beats, downbeats = (np.asarray(t).round(6).tolist() for t in (s.beats_s, s.downbeats_s))
        header["samples"].append([s.name, s.work, q.shape[1], beats, downbeats])
    text = json.dumps(header).encode("utf-8")
    blob = lzma.compress(HEADER.pack(len(text)) + text + b"".join(body), preset=9 | lzma.PRESET_EXTREME)
    size = int(chunk_mb * 2**20)
    for i in range(0, len(blob), size):
        Path(f"{out}.part{i // size:02d}").write_bytes(blob[i : i + size])
    print(f"{len(samples)} samples, {len(blob) / 2**20:.1f} MiB in {-(-len(blob) // size)} parts")


def unpack(prefix: Path, dest: Path, partial: bool = False, seed: int = 0) -> None:
    parts = sorted(prefix.parent.glob(prefix.name + ".part*"))
    if not parts:
        sys.exit(f"{prefix}.part00: not found")
    stream = lzma.LZMADecompressor()
    raw = stream.decompress(b"".join(p.read_bytes() for p in parts))
    if not stream.eof and not partial:
        sys.exit(
            f"{prefix}: the stream ends after part {len(parts) - 1:02d}: a part is missing (or --partial)"
        )
    (n,) = HEADER.unpack_from(raw)
    header = json.loads(raw[HEADER.size : HEADER.size + n])
    cache = dest / ".beat_features" / header["features_version"]
    cache.mkdir(parents=True, exist_ok=True)
    top, offset, rng = 2 ** header["bits"] - 1, HEADER.size + n, np.random.default_rng(seed)
    for name, work, frames, beats, downbeats in header["samples"]:
        size = frames * 128
        if offset + size > len(raw):
            break  # --partial: the samples of the parts at hand
        delta = np.frombuffer(raw, np.uint8, size, offset).reshape(128, frames)
        offset += size
        q = (np.cumsum(delta, axis=1, dtype=np.int64) % 256).T.astype(np.float32)
        spread = np.where(q > 0, rng.uniform(-0.5, 0.5, q.shape), 0.0)
        np.save(cache / f"{name}.npy", ((q + spread) / top).clip(0, 1).astype(np.float16))
        (dest / f"{name}.flac").touch()
        record = {"work": work, "beats_s": beats, "downbeats_s": downbeats}
        (dest / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
    for npy in cache.iterdir():  # newer than the placeholder audio: the cache is used as it is
        npy.touch()
    print(f"{len(list(cache.iterdir()))} of {len(header['samples'])} samples in {dest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--bits", type=int, default=6, choices=range(4, 9))
    p.add_argument("--chunk-mb", type=float, default=55.0)
    u = sub.add_parser("unpack")
    u.add_argument("prefix", type=Path)
    u.add_argument("dest", type=Path)
    u.add_argument("--partial", action="store_true", help="unpack the samples of the parts at hand")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.data, args.out, args.bits, args.chunk_mb)
    else:
        unpack(args.prefix, args.dest, args.partial)


if __name__ == "__main__":
    main()
