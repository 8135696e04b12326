"""The HTTP service under load: latency, throughput and memory of a real server process.

Starts `python -m vconductor.service serve --port 0 --port-file F` (what `vconductor serve` runs) with a
temporary VCONDUCTOR_HOME, then measures, with a 60 s clip of real music:

1. latency: sequential jobs, submit (upload + decode) -> done -> result .npz fetched: p50 / p95;
2. throughput: 16 clients at once, each submitting the clip: wall time and clips per second;
3. memory: the server's VmRSS every 10 jobs over 100 sequential jobs (each result fetched, then the job
   deleted, as the add-on does): does it grow without bound?

The procedural conductor is used when the server offers it and a job with it succeeds; else a learned model
(the official weights from ../shared when present, else random weights: the same amount of work).

    .venv/bin/python benchmarks/bench_service.py [--device auto|cpu|cuda] [--runs 10] [--clients 16]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from _common import OFFICIAL_GENERATOR, long_piece, machine

from vconductor.contract import JobState

POLL_S = 0.005


def start_server(home: Path, tmp: Path, device: str) -> tuple[subprocess.Popen, str]:
    port_file = tmp / "port"
    cmd = [sys.executable, "-m", "vconductor.service", "serve", "--port", "0", "--port-file", str(port_file)]
    cmd += ["--device", device]
    with open(tmp / "server.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "VCONDUCTOR_HOME": str(home)})
    while not port_file.exists():
        if proc.poll() is not None:
            sys.exit(f"the server did not start:\n{(tmp / 'server.log').read_text()}")
        time.sleep(0.02)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def register_learned(home: Path, tmp: Path) -> str:
    os.environ["VCONDUCTOR_HOME"] = str(home)
    from vconductor.models import Generator, save_checkpoint
    from vconductor.registry import add_model

    if OFFICIAL_GENERATOR.is_file():
        return add_model("official", OFFICIAL_GENERATOR).name
    save_checkpoint(Generator(), tmp / "random.pt", "generator")
    return add_model("random", tmp / "random.pt").name


def run_job(client: httpx.Client, clip: bytes, model: str, seed: int, delete: bool = False) -> dict:
    """One job from submit to its .npz fetched; the seconds of each part."""
    t0 = time.perf_counter()
    response = client.post(
        "/v1/jobs", params={"model": model, "seed": seed}, files={"file": ("clip.wav", clip)}
    )
    if response.status_code != 202:
        sys.exit(f"submit failed: {response.status_code} {response.text}")
    t_submit = time.perf_counter()
    job = response.json()["id"]
    status = wait_final(client, job, POLL_S)
    if status["state"] != "done":
        sys.exit(f"job {status['state']}: {status['error']}")
    t_done = time.perf_counter()
    npz = client.get(f"/v1/jobs/{job}/result.npz")
    assert npz.status_code == 200 and len(npz.content) > 0
    t_end = time.perf_counter()
    if delete:
        client.delete(f"/v1/jobs/{job}")
    return {"total": t_end - t0, "submit": t_submit - t0, "wait": t_done - t_submit, "fetch": t_end - t_done}


def wait_final(client: httpx.Client, job: str, poll_s: float) -> dict:
    while not JobState((status := client.get(f"/v1/jobs/{job}").json())["state"]).is_final:
        time.sleep(poll_s)
    return status


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def pick_model(client: httpx.Client, clip: bytes, learned: str) -> str:
    if "procedural" in {m["id"] for m in client.get("/v1/models").json()}:
        response = client.post("/v1/jobs", params={"model": "procedural"}, files={"file": ("clip.wav", clip)})
        if response.status_code == 202:
            status = wait_final(client, response.json()["id"], 0.05)
            if status["state"] == "done":
                return "procedural"
            print(f"note: a procedural job failed ({status['error']}); using {learned}")
    return learned


def measure_latency(client: httpx.Client, clip: bytes, model: str, runs: int) -> None:
    results = [run_job(client, clip, model, i, delete=True) for i in range(runs)]
    totals = np.array([r["total"] for r in results])
    parts = {k: np.median([r[k] for r in results]) for k in ("submit", "wait", "fetch")}
    print(
        f"latency, {runs} sequential jobs (submit -> .npz fetched): p50 "
        f"{np.percentile(totals, 50):.3f} s, p95 {np.percentile(totals, 95):.3f} s; median parts: "
        f"submit (upload + decode) {parts['submit']:.3f} s, queue + features + generation "
        f"{parts['wait']:.3f} s, fetch {parts['fetch']:.3f} s"
    )


def measure_throughput(url: str, clip: bytes, model: str, clients: int, seconds: float) -> None:
    def client_job(seed: int) -> dict:
        with httpx.Client(base_url=url, timeout=600) as own:
            return run_job(own, clip, model, seed, delete=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client_job, range(clients)))
    wall = time.perf_counter() - t0
    worst = max(r["total"] for r in results)
    print(
        f"throughput, {clients} concurrent clients: wall {wall:.2f} s, {clients / wall:.2f} clips/s "
        f"({clients * seconds / wall:.0f} s of audio per second); slowest client {worst:.2f} s"
    )


def measure_memory(client: httpx.Client, clip: bytes, model: str, jobs: int, pid: int) -> None:
    series = [(0, rss_mib(pid))]
    for i in range(1, jobs + 1):
        run_job(client, clip, model, i, delete=True)
        if i % 10 == 0:
            series.append((i, rss_mib(pid)))
    print("server VmRSS (MiB) after N sequential jobs: " + ", ".join(f"{n}: {mib:.0f}" for n, mib in series))
    half = [mib for n, mib in series if n >= jobs // 2]
    growth = half[-1] - half[0]
    per_job = growth / max(1, jobs - jobs // 2) * 1024
    verdict = "flat: no unbounded growth" if abs(growth) < 0.02 * half[0] + 8 else "GROWING"
    print(f"second half: {growth:+.1f} MiB over {jobs - jobs // 2} jobs ({per_job:+.0f} KiB/job): {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--runs", type=int, default=10, help="sequential jobs for latency")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients for throughput")
    ap.add_argument("--memory-jobs", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0, help="clip length")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        learned = register_learned(home, tmp)
        clip = long_piece(tmp / "clip.wav", args.seconds).read_bytes()
        proc, url = start_server(home, tmp, args.device)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:
                model = pick_model(client, clip, learned)
                health = client.get("/v1/health").json()
                print(f"machine: {machine()}; server device: {health['device']}; model: {model}")
                print(f"clip: {args.seconds:g} s, {len(clip) / 2**20:.1f} MiB WAV upload")
                run_job(client, clip, model, 0, delete=True)  # warm-up: model load, first-call costs
                measure_latency(client, clip, model, args.runs)
                measure_throughput(url, clip, model, args.clients, args.seconds)
                measure_memory(client, clip, model, args.memory_jobs, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            print(f"server exit code after SIGTERM: {code}")


if __name__ == "__main__":
    main()
