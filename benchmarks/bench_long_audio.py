"""Memory and cancel latency on long pieces: peak RSS of `vconductor generate` and of the service for 1 h and 3 h.

Renders real music (the ../shared corpus, else the bundled example, looped) to 22050 Hz FLAC files of each length,
then for each conductor (procedural; learned: the official weights from ../shared when present, else random
weights, the same amount of work; registered in a temporary VCONDUCTOR_HOME):

1. CLI: a fresh `vconductor generate piece.ogg -o out.npz` process; peak RSS of its process tree (the sum of
   VmRSS over the process and its children, sampled every 50 ms), and wall time;
2. service: one `vconductor serve` process; each piece uploaded, generated and fetched in turn; peak RSS of the
   server over each job, and its RSS once idle after all of them; then 12 h of silence in Matroska (no length
   in its header, so it is decoded until the limit stops it, then refused with a 422) and the RSS after it;
3. cancel latency: a job on the longest piece cancelled (DELETE) while it analyses or generates: seconds from
   the DELETE to the job's "cancelled" state.

    .venv/bin/python benchmarks/bench_long_audio.py [--hours 1 3] [--skip-learned] [--skip-cli] [--skip-server]

The goal (issue 13): under 1.5 GB for either, flat from 1 h to 3 h.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import long_piece, machine
from bench_service import register_learned, start_server, wait_final

from vconductor.contract import JobState

MiB = 2**20


def tree_rss_mib(pid: int) -> float:
    """VmRSS of `pid` and all its descendants, MiB (0 when it has exited)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


class PeakSampler:
    """The peak tree RSS of a process while the block runs."""

    def __init__(self, pid: int, every_s: float = 0.05):
        self.pid, self.every_s, self.peak = pid, every_s, 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mib(self.pid))
            time.sleep(self.every_s)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measure_cli(piece: Path, model: str, tmp: Path) -> tuple[float, float]:
    out = tmp / "out.npz"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "vconductor", "generate", str(piece), "-o", str(out), "--model", model, "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    with PeakSampler(proc.pid) as sampler:
        _, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"vconductor generate failed on {piece.name}:\n{err}")
    return sampler.peak, wall


def submit(client: httpx.Client, piece: Path, model: str) -> httpx.Response:
    with open(piece, "rb") as f:
        return client.post("/v1/jobs", params={"model": model}, files={"file": (piece.name, f)}, timeout=600)


def measure_server_job(client: httpx.Client, pid: int, piece: Path, model: str) -> tuple[float, float, float]:
    """Peak RSS over the job, its wall time from upload to result, and the part after the upload's 202
    (the job's own run, which the cancel measurements sample)."""
    t0 = time.perf_counter()
    with PeakSampler(pid) as sampler:
        response = submit(client, piece, model)
        if response.status_code != 202:
            sys.exit(f"submit failed: {response.status_code} {response.text}")
        accepted = time.perf_counter()
        job = response.json()["id"]
        status = wait_final(client, job, 0.2)
        if status["state"] != JobState.DONE:
            sys.exit(f"job failed: {status}")
        run_s = time.perf_counter() - accepted
        client.get(f"/v1/jobs/{job}/result", params={"format": "npz"}, timeout=600)
        client.delete(f"/v1/jobs/{job}")
    return sampler.peak, time.perf_counter() - t0, run_s


def cancel_latency(client: httpx.Client, piece: Path, model: str, stage: str, after_s: float = 0.0) -> float:
    """Seconds from DELETE to "cancelled", for a job cancelled `after_s` after its message first mentions
    `stage` (the procedural job says "computing features" from decoding to the end of its analysis)."""
    job = submit(client, piece, model).json()["id"]
    while stage not in (status := client.get(f"/v1/jobs/{job}").json())["message"]:
        if JobState(status["state"]).is_final:
            return float("nan")
        time.sleep(0.05)
    time.sleep(after_s)
    t0 = time.perf_counter()
    if client.delete(f"/v1/jobs/{job}").status_code == 204:
        return float("nan")  # it had finished: the DELETE forgot it
    while client.get(f"/v1/jobs/{job}").json()["state"] != JobState.CANCELLED:
        time.sleep(0.01)
    latency = time.perf_counter() - t0
    client.delete(f"/v1/jobs/{job}")
    return latency


def silence_without_length(path: Path) -> Path:
    """The issue's hostile file: 12 h of silence as FLAC in Matroska, 7 MB."""
    from vconductor.audio import ffmpeg_executable

    cmd = [ffmpeg_executable(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "43200"]
    subprocess.run([*cmd, "-c:a", "flac", str(path)], check=True)
    return path


def run_server(pieces: dict, models: list, home: Path, tmp: Path, too_long: Path) -> None:
    proc, url = start_server(home, tmp, "cpu")
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            print(f"server: idle RSS {tree_rss_mib(proc.pid):.0f} MiB")
            runs = {}  # hours -> seconds from the upload's 202 to done (procedural)
            for model in models:
                for hours, piece in pieces.items():
                    peak, wall, run_s = measure_server_job(client, proc.pid, piece, model)
                    if model == "procedural":
                        runs[hours] = run_s
                    print(
                        f"server {_label(model):10s} {hours} h: peak RSS {peak:6.0f} MiB, job {wall:6.1f} s"
                    )
            print(f"server: RSS after the jobs {tree_rss_mib(proc.pid):.0f} MiB")
            refused = submit(client, too_long, models[0]).status_code
            print(f"server: over-long file -> {refused}; RSS after it {tree_rss_mib(proc.pid):.0f} MiB")
            longest = max(pieces)
            # the procedural job at 0..90% of its run: decoding, analysis stages, conducting
            stages = [(models[0], "computing features", f * runs[longest]) for f in (0.0, 0.3, 0.5, 0.7, 0.9)]
            for model, stage, after_s in [*stages, (models[-1], "encoding music", 0.0)]:
                latency = cancel_latency(client, pieces[longest], model, stage, after_s)
                print(f"server: cancel {after_s:5.1f} s into '{stage}' ({_label(model)}): {latency:.2f} s")
    except BaseException:
        print(f"server log (exit code {proc.poll()}):\n{(tmp / 'server.log').read_text()[-3000:]}")
        raise
    finally:
        proc.terminate()
        proc.wait(60)


def _label(model: str) -> str:
    return "procedural" if model == "procedural" else "learned"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--skip-learned", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        pieces = {h: long_piece(tmp / f"piece-{h:g}h.flac", h * 3600, rate=22050) for h in args.hours}
        too_long = silence_without_length(tmp / "silence-12h.mka")
        models = ["procedural"] + ([] if args.skip_learned else [register_learned(home, tmp)])
        os.environ["VCONDUCTOR_HOME"] = str(home)
        if not args.skip_cli:
            for model in models:
                for hours, piece in pieces.items():
                    peak, wall = measure_cli(piece, model, tmp)
                    print(
                        f"cli    {_label(model):10s} {hours:g} h: peak RSS {peak:6.0f} MiB, wall {wall:6.1f} s"
                    )
        if not args.skip_server:
            run_server(pieces, models, home, tmp, too_long)


if __name__ == "__main__":
    main()
