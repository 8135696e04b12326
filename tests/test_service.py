"""The HTTP service as the Blender add-on uses it: a real server process on 127.0.0.1, real HTTP, no mocks.

Servers start as `python -m vconductor.service serve --port 0 --port-file F` (what `vconductor serve` runs) with
VCONDUCTOR_HOME in a temp folder holding a registered random-weight generator.
"""

import math
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from conftest import write_music
from vconductor.motion_io import load_motion
from vconductor.skeleton import JOINT_NAMES

FINAL = {"done", "failed", "cancelled"}
SERVE = [sys.executable, "-m", "vconductor.service", "serve"]


class ServerProcess:
    """A service subprocess, started the way a parent process (the add-on) starts it."""

    def __init__(self, home: Path, tmp: Path, *args: str, env: dict | None = None):
        tag = secrets.token_hex(3)
        self.port_file = tmp / f"port-{tag}"
        self.log = tmp / f"server-{tag}.log"
        cmd = [*SERVE, "--port", "0", "--port-file", str(self.port_file), "--device", "cpu", *args]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=log, env={**os.environ, "VCONDUCTOR_HOME": str(home), **(env or {})}
            )
        deadline = time.monotonic() + 90
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture(scope="module")
def home(tmp_path_factory, random_generator_file):
    """A user cache with the random-weight generator registered as 'rand' (the default learned model)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VCONDUCTOR_HOME", str(home))
        from vconductor.registry import add_model

        add_model("rand", random_generator_file)
    return home


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):
    srv = ServerProcess(home, tmp_path_factory.mktemp("srv"), "--max-duration-s", "1200")
    yield srv
    assert srv.stop() == 0, srv.output()
    assert "Traceback" not in srv.output(), srv.output()


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audio")


# ------------------------------------------------------------------------------------------------ helpers


def submit_file(client: httpx.Client, path: Path, **params) -> httpx.Response:
    with open(path, "rb") as f:
        return client.post("/v1/jobs", params=params, files={"file": (path.name, f)})


def submit_pcm(client: httpx.Client, samples: np.ndarray, sample_rate: int, **params) -> httpx.Response:
    """Interleaved little-endian float32, as Blender's aud produces it."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    body = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    params = {"sample_rate": sample_rate, "channels": channels, **params}
    return client.post(
        "/v1/jobs", params=params, content=body, headers={"Content-Type": "application/octet-stream"}
    )


def wait_final(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status["state"] in FINAL or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def wait_running(client: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status["state"] != "queued" or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def generate(client: httpx.Client, response: httpx.Response) -> np.ndarray:
    """The keypoints of a submitted job (JSON result), checked against its npz."""
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    status = wait_final(client, job_id)
    assert status["state"] == "done", status
    doc = client.get(f"/v1/jobs/{job_id}/result").json()
    keypoints = np.array(doc["keypoints"], dtype=np.float32)
    assert keypoints.shape == (doc["num_frames"], 13, 2) == (status["num_frames"], 13, 2)
    assert doc["fps"] == 30 and tuple(doc["joint_names"]) == JOINT_NAMES
    return keypoints


def error_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"], error
    return error


# ---------------------------------------------------------------------------------------------------- tests


def test_health_models_and_schema(server):
    health = server.client.get("/v1/health").json()
    assert health["status"] == "ok" and health["version"] and health["device"] in ("auto", "cpu")
    assert health["queue_length"] == 0 and health["auth_required"] is False
    models = {m["id"]: m for m in server.client.get("/v1/models").json()}
    assert models["rand"]["kind"] == "learned" and models["rand"]["default"] is True
    assert models["rand"]["model_id"].startswith("rand@")
    assert "procedural" not in models or models["procedural"]["kind"] == "procedural"
    schema = server.client.get("/openapi.json").json()
    assert {
        "/v1/health",
        "/v1/models",
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/result",
        "/v1/jobs/{job_id}/result.npz",
        "/v1/jobs/{job_id}/beats",
    } <= set(schema["paths"])
    assert server.client.get("/docs").status_code == 200


def test_wav_flac_and_pcm_give_the_motion_of_their_audio(server, audio_dir, tmp_path):
    wav = write_music(audio_dir / "piece.wav", 3.3, sample_rate=44100, channels=2)
    flac = write_music(audio_dir / "piece.flac", 2.05, sample_rate=48000)
    c = server.client

    response = submit_file(c, wav, seed=3)
    assert response.status_code == 202 and response.headers["location"] == f"/v1/jobs/{response.json()['id']}"
    created = response.json()
    assert created["state"] == "queued" and created["num_frames"] == 99 and created["model"] == "rand"
    from_wav = generate(c, response)
    assert from_wav.shape == (math.ceil(3.3 * 30), 13, 2)

    # the npz result is the file save_motion writes, with the same keypoints as the JSON
    npz = c.get(f"/v1/jobs/{created['id']}/result.npz")
    assert npz.status_code == 200 and npz.headers["content-type"] == "application/octet-stream"
    (tmp_path / "r.npz").write_bytes(npz.content)
    motion = load_motion(tmp_path / "r.npz")
    assert motion.seed == 3 and motion.model.startswith("rand@") and motion.source == "piece.wav"
    assert np.abs(motion.keypoints - from_wav).max() < 1e-6

    # the same seed gives the same motion; another seed another one
    assert np.array_equal(generate(c, submit_file(c, wav, seed=3)), from_wav)
    assert np.abs(generate(c, submit_file(c, wav, seed=4)) - from_wav).max() > 1e-5  # random weights: small

    # raw float32 PCM (interleaved stereo) of the very samples in the WAV gives the very same motion
    samples, rate = sf.read(wav, dtype="float32", always_2d=True)
    assert np.array_equal(generate(c, submit_pcm(c, samples, rate, seed=3)), from_wav)

    assert generate(c, submit_file(c, flac)).shape == (math.ceil(2.05 * 30), 13, 2)
    # cropping, as query options or as form fields
    assert generate(c, submit_file(c, wav, start_s=0.5, end_s=2.5)).shape == (60, 13, 2)
    with open(wav, "rb") as f:
        response = c.post("/v1/jobs", files={"file": ("piece.wav", f)}, data={"start_s": "1", "seed": "3"})
    assert generate(c, response).shape == (69, 13, 2)


def test_pcm_at_the_working_rate_gives_the_motion_of_the_same_samples_in_a_file(server, audio_dir):
    """Mono float32 PCM at 22050 Hz (what the add-on sends) is stored as it came; cropped, it is cut first."""
    wav = write_music(audio_dir / "mono.wav", 2.5)
    samples, rate = sf.read(wav, dtype="float32")
    assert rate == 22050 and samples.ndim == 1
    c = server.client
    from_file = generate(c, submit_file(c, wav, seed=5))
    assert np.array_equal(generate(c, submit_pcm(c, samples, rate, seed=5)), from_file)
    cropped = generate(c, submit_file(c, wav, seed=5, start_s=0.5))
    assert np.array_equal(generate(c, submit_pcm(c, samples, rate, seed=5, start_s=0.5)), cropped)


def test_procedural_conductor_when_available(server, audio_dir):
    if "procedural" not in {m["id"] for m in server.client.get("/v1/models").json()}:
        pytest.skip("the procedural conductor is not in this build yet")
    wav = write_music(audio_dir / "proc.wav", 4.0)
    response = submit_file(server.client, wav, model="procedural", seed=1)
    assert generate(server.client, response).shape == (120, 13, 2)


def test_the_style_options_shape_the_motion_and_bad_ones_are_refused(server, audio_dir):
    """The procedural conductor's result carries its 3D and baton; a style preset and controls change it the
    way the CLI's options do; an unknown preset or a control out of range is a 422 naming it."""
    from vconductor.conducting import ConductorConfig, styled_config
    from vconductor.contract_style import conducting_style
    from vconductor.pipeline import ProceduralConductor
    from vconductor.pipeline import generate as generate_here

    c = server.client
    wav = write_music(audio_dir / "styled.wav", 6.0)
    response = submit_file(c, wav, model="procedural", style="allegro energico", size=0.8, left_handed="true")
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert wait_final(c, job_id)["state"] == "done"
    doc = c.get(f"/v1/jobs/{job_id}/result").json()
    style = conducting_style("allegro-energico", size=0.8, left_handed=True)
    here = generate_here(wav, ProceduralConductor(styled_config(style, ConductorConfig())), seed=0)
    assert np.allclose(doc["keypoints"], here.keypoints, atol=1e-5)
    assert np.allclose(doc["keypoints3d"], here.keypoints3d, atol=1e-5)
    assert np.allclose(doc["baton_tip"], here.baton_tip, atol=1e-5)
    for params, named in (({"style": "tango"}, "tango"), ({"energy": 9}, "energy")):
        refused = submit_file(c, wav, model="procedural", **params)
        assert refused.status_code == 422 and named in error_of(refused)["message"]


@pytest.mark.parametrize("model", ["rand", "procedural"])
def test_a_done_job_has_the_beats_vconductor_analyze_finds(server, model):
    """Either model's job carries the tracker's beats of its audio: the document `vconductor analyze` writes."""
    from vconductor.beat_tracking.tracker import track_file
    from vconductor.contract_beats import beats_from_document

    example = Path(__file__).resolve().parents[1] / "examples" / "ode_to_joy.ogg"
    c = server.client
    response = submit_file(c, example, model=model)
    job_id = response.json()["id"]
    assert response.json()["links"]["beats"] == f"/v1/jobs/{job_id}/beats"
    assert wait_final(c, job_id)["state"] == "done"
    served = beats_from_document(c.get(f"/v1/jobs/{job_id}/beats").json())
    expected = track_file(example)
    assert len(expected.beats_s) >= 20 and np.allclose(served.beats_s, expected.beats_s, atol=1e-4)
    assert np.array_equal(served.beat_in_bar, expected.beat_in_bar)
    assert served.source == "ode_to_joy.ogg" and served.duration_s == pytest.approx(32.475, abs=0.01)
    assert error_of(c.get("/v1/jobs/0123456789abcdef/beats"))["code"] == "not_found"


def test_concurrent_submissions_all_complete_with_their_own_results(server, audio_dir):
    durations = [1.0 + 0.4 * i for i in range(8)]
    files = [write_music(audio_dir / f"c{i}.wav", d, seed=i) for i, d in enumerate(durations)]
    jobs = [(files[i], i) for i in range(8)] + [(files[0], 0)]  # the last repeats the first
    results: list = [None] * len(jobs)

    def client_thread(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            path, seed = jobs[i]
            results[i] = generate(client, submit_file(client, path, seed=seed))

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert all(r is not None for r in results), "a client thread failed"
    for i, path in enumerate(files):  # ceil(duration * 30) frames, from the exact sample count
        info = sf.info(path)
        assert results[i].shape == (-(-info.frames * 30 // info.samplerate), 13, 2)
    assert len({len(r) for r in results}) == 8
    firsts = [r[:30].ravel() for r in results[:8]]
    assert all(np.abs(firsts[i] - firsts[j]).max() > 1e-5 for i in range(8) for j in range(i))
    assert np.array_equal(results[8], results[0])
    assert server.client.get("/v1/health").json()["queue_length"] == 0


def test_cancel_running_and_queued_jobs(server, audio_dir):
    long = write_music(audio_dir / "ten_minutes.wav", 600, sample_rate=8000)
    c = server.client
    first, second = (submit_file(c, long).json() for _ in range(2))
    # the second waits behind the first: cancelled at once
    response = c.delete(f"/v1/jobs/{second['id']}")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert c.get(f"/v1/jobs/{first['id']}/result").status_code == 409  # not done yet
    assert wait_running(c, first["id"])["state"] == "running"
    response = c.delete(f"/v1/jobs/{first['id']}")
    assert response.status_code == 202 and response.json()["message"] == "cancelling"
    status = wait_final(c, first["id"])
    assert status["state"] == "cancelled" and status["progress"] < 1
    for job in (first, second):
        response = c.get(f"/v1/jobs/{job['id']}/result")
        assert response.status_code == 410 and error_of(response)["code"] == "cancelled"
    # deleting a finished job forgets it
    assert c.delete(f"/v1/jobs/{first['id']}").status_code == 204
    assert c.get(f"/v1/jobs/{first['id']}").status_code == 404
    assert c.get("/v1/health").json()["queue_length"] == 0


def test_sigkill_mid_job_then_restart(home, tmp_path, audio_dir):
    """A crashed server shows up as a connection error: the add-on must handle it (and may restart)."""
    long = write_music(audio_dir / "kill.wav", 600, sample_rate=8000)
    temp = tmp_path / "temp"
    temp.mkdir()
    srv = ServerProcess(home, tmp_path, env={"TMPDIR": str(temp)})
    job = submit_file(srv.client, long).json()
    assert wait_running(srv.client, job["id"])["state"] in ("running", "done")
    srv.proc.kill()
    srv.proc.wait(10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.url}/v1/jobs/{job['id']}", timeout=5)
    assert srv.port_file.exists()  # stale after a crash: the parent deletes it before the next start
    uploads = list(temp.glob("vconductor-service-*/*"))
    assert [p.name.split("-")[0] for p in uploads] == [str(srv.proc.pid)]  # left behind too

    again = ServerProcess(home, tmp_path, env={"TMPDIR": str(temp)})
    try:
        assert again.port_file != srv.port_file
        assert not any(p.exists() for p in uploads)  # the new server removed the dead one's uploads
        assert again.client.get("/v1/health").json()["status"] == "ok"
        assert again.client.get(f"/v1/jobs/{job['id']}").status_code == 404  # jobs do not survive a crash
        short = write_music(tmp_path / "short.wav", 1.5)
        assert generate(again.client, submit_file(again.client, short)).shape == (45, 13, 2)
    finally:
        assert again.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_shuts_down_cleanly(home, tmp_path, audio_dir, sig):
    long = write_music(audio_dir / "stop.wav", 600, sample_rate=8000)
    temp = tmp_path / "temp"
    temp.mkdir()
    srv = ServerProcess(home, tmp_path, env={"TMPDIR": str(temp)})
    job = submit_file(srv.client, long).json()
    wait_running(srv.client, job["id"])
    started = time.monotonic()
    assert srv.stop(sig) == 0, srv.output()
    assert time.monotonic() - started < 15
    assert not srv.port_file.exists()
    assert not list(temp.glob("vconductor-service-*/*"))  # uploads and decoded audio are gone
    assert "Traceback" not in srv.output()


def test_store_caps_and_expiry(tmp_path):
    """The job store on its own: queue caps, result bytes cap (oldest finished forgotten first), expiry."""
    from vconductor.audio import Spectrogram
    from vconductor.audio.frame_store import FrameStore
    from vconductor.contract import JobState
    from vconductor.motion_io import Motion
    from vconductor.service.store import AudioInput, Job, JobStore, StoreFull

    CANCELLED, DONE = JobState.CANCELLED, JobState.DONE

    def job(frames: int = 1) -> Job:  # 512 bytes of spectrogram per frame
        kept = FrameStore(spill_after=None)
        kept.append(np.zeros((frames, 128), np.float32))
        kept.seal()
        spectrogram = Spectrogram("x", 22050, 1, 22050, 0.5, kept, np.zeros(frames, np.float32))
        return Job("m", 0, None, AudioInput(spectrogram), 30)

    def motion(frames: int) -> Motion:
        return Motion(np.zeros((frames, 13, 2), np.float32), frames / 30, "m", 0)

    store = JobStore(ttl_s=0.3, max_active=2, max_result_bytes=3 * 1040, max_pending_audio_bytes=1500)
    a, b = job(), job()
    store.add(a)
    store.add(b)
    with pytest.raises(StoreFull, match="queue is full"):
        store.add(job())
    store.finish(b, CANCELLED)
    with pytest.raises(StoreFull, match="too much audio"):
        store.add(job(2))  # 512 bytes of a's spectrogram already wait
    # results: 10 frames = 1040 bytes each; the fourth pushes out the oldest finished one
    finished = [a]
    assert store.start(a) and store.finish(a, DONE, motion=motion(10))
    assert not store.finish(a, CANCELLED)  # a job ends once
    for _ in range(3):
        j = job()
        store.add(j)
        store.finish(j, DONE, motion=motion(10))
        finished.append(j)
    assert store.get(a.id) is None and all(store.get(j.id) is j for j in finished[1:])
    assert store.get(b.id) is b  # no result: not counted against the result cap
    time.sleep(0.35)
    assert all(store.get(j.id) is None for j in [b, *finished])  # expired


def test_parent_pid_stops_the_server_when_the_parent_exits(home, tmp_path):
    """What keeps a backend started by Blender from outliving a Blender that crashed."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        srv = ServerProcess(home, tmp_path, "--parent-pid", str(parent.pid))
        assert srv.client.get("/v1/health").status_code == 200
        time.sleep(1.0)  # still alive while the parent is
        assert srv.proc.poll() is None
        parent.kill()
        parent.wait()
        started = time.monotonic()
        assert srv.proc.wait(15) == 0, srv.output()
        assert time.monotonic() - started < 5
        assert "parent process" in srv.output() and "Traceback" not in srv.output()
        assert not srv.port_file.exists()
    finally:
        parent.kill()
