"""A web page cannot drive the local server: what a hostile page's browser would send, against real servers.

A page may POST a multipart form to 127.0.0.1 without a preflight (its browser adds `Origin`), and with DNS
rebinding it reaches the server under its own name (`Host: evil.example:PORT`) and reads the replies. Both are
refused on every route, as the OpenAPI document says; what local programs send (loopback Host, loopback or no
Origin) is served. The backend the add-on starts also requires the random token it was given at launch.
"""

# ruff: noqa: F811 (the fixtures audio_dir, home and server come from test_service, as pytest passes them)

import sys
from pathlib import Path

import httpx
import pytest
from virtual_conductor_addon.service.process import BackendProcess

from conftest import write_music
from test_service import (  # noqa: F401 (fixtures)
    ServerProcess,
    audio_dir,
    error_of,
    home,
    server,
    submit_file,
    wait_final,
)

EVIL_ORIGIN = "https://evil.example"


def _browser_form_post(c: httpx.Client, wav: Path, origin: str) -> httpx.Response:
    """A cross-site `<form enctype="multipart/form-data" method="post">`: a simple request, no preflight."""
    headers = {"Origin": origin, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    with open(wav, "rb") as f:
        return c.post("/v1/jobs", files={"file": (wav.name, f, "audio/wav")}, headers=headers)


def _no_cors(response: httpx.Response) -> None:
    granted = [h for h in response.headers if h.lower().startswith("access-control-")]
    assert not granted, f"CORS headers granted: {granted}"


def test_cross_site_posts_are_refused_and_loopback_origins_served(server, audio_dir):
    wav = write_music(audio_dir / "form.wav", 3.0)
    c = server.client
    bad_origins = [
        EVIL_ORIGIN,
        "null",
        f"http://127.0.0.1.evil.example:{server.port}",
        "http://localhost.evil",
    ]
    for origin in [*bad_origins, "http://[::1", "file://"]:
        refused = _browser_form_post(c, wav, origin)
        assert refused.status_code == 403, (origin, refused.text)
        assert error_of(refused)["code"] == "cross_origin"
        _no_cors(refused)
    preflight = c.options(
        "/v1/jobs", headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403 and error_of(preflight)["code"] == "cross_origin"
    _no_cors(preflight)
    assert c.get("/v1/health").json()["queue_length"] == 0, "a refused POST queued a job"

    # this machine's pages (any port) and programs that send no Origin are served
    for origin in (f"http://127.0.0.1:{server.port}", "http://localhost:3000", "http://[::1]:8080", None):
        response = _browser_form_post(c, wav, origin) if origin else submit_file(c, wav)
        assert response.status_code == 202, (origin, response.text)
        _no_cors(response)
        cancel = c.delete(f"/v1/jobs/{response.json()['id']}", headers={"Origin": origin} if origin else None)
        assert cancel.status_code in (200, 202, 204), cancel.text


def test_foreign_host_is_refused_on_every_route(server, audio_dir):
    """DNS rebinding: the page's own name resolves to 127.0.0.1; it must not read results or delete jobs."""
    c = server.client
    job = submit_file(c, write_music(audio_dir / "rebind.wav", 3.0)).json()  # the warm learned model: fast
    assert wait_final(c, job["id"])["state"] == "done"
    routes = [
        ("GET", "/v1/health"),
        ("GET", "/v1/models"),
        ("POST", "/v1/jobs"),
        ("GET", f"/v1/jobs/{job['id']}"),
        ("GET", f"/v1/jobs/{job['id']}/result"),
        ("GET", f"/v1/jobs/{job['id']}/result.npz"),
        ("DELETE", f"/v1/jobs/{job['id']}"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/nowhere"),
        ("OPTIONS", "/v1/jobs"),
    ]
    foreign = [
        f"evil.example:{server.port}",
        "evil.example",
        f"127.0.0.1.nip.io:{server.port}",
        "localhost.:1",
    ]
    for host in foreign:
        for method, path in routes:
            refused = c.request(method, path, headers={"Host": host})
            assert refused.status_code == 421, (host, method, path, refused.status_code)
            assert error_of(refused)["code"] == "wrong_host" and "Host" in error_of(refused)["message"]
    assert c.get(f"/v1/jobs/{job['id']}").json()["state"] == "done", "the job survived the DELETEs"

    port = server.port
    for host in (
        f"localhost:{port}",
        f"LOCALHOST:{port}",
        f"127.0.0.1:{port}",
        "127.0.0.1",
        f"[::1]:{port}",
        f"127.4.5.6:{port}",
    ):
        assert c.get(f"/v1/jobs/{job['id']}/result.npz", headers={"Host": host}).status_code == 200, host
    assert c.delete(f"/v1/jobs/{job['id']}", headers={"Host": f"localhost:{port}"}).status_code == 204


def test_the_openapi_document_lists_these_refusals_on_every_route(server):
    """421 (Host) and 403 (Origin, token) can answer any route: clients generated from the schema expect them."""
    schema = server.client.get("/openapi.json").json()
    operations = [(m, path, op) for path, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) == 8
    for method, path, op in operations:
        for status in ("403", "421"):
            assert status in op["responses"], (method, path, status, sorted(op["responses"]))
            body = op["responses"][status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status, body)
    assert set(schema["components"]["schemas"]["ErrorBody"]["properties"]) == {"error"}


def test_wildcard_address_takes_any_host_but_still_refuses_web_pages(home, tmp_path):
    """Served to the network (0.0.0.0 needs a token): clients name the machine as they like, pages stay out."""
    srv = ServerProcess(home, tmp_path, "--host", "0.0.0.0", env={"VCONDUCTOR_TOKEN": "s3cret-token"})
    try:
        good = {"Authorization": "Bearer s3cret-token", "Host": f"studio.example:{srv.port}"}
        assert srv.client.get("/v1/models", headers=good).status_code == 200
        assert srv.client.get("/v1/models", headers={"Host": good["Host"]}).status_code == 401
        page = srv.client.get("/v1/models", headers={**good, "Origin": EVIL_ORIGIN})
        assert page.status_code == 403 and error_of(page)["code"] == "cross_origin"
        # the server's own /docs page, reached by the machine's name, may use the API
        own = srv.client.delete("/v1/jobs/x", headers={**good, "Origin": f"http://studio.example:{srv.port}"})
        assert own.status_code == 404, own.text
    finally:
        assert srv.stop() == 0, srv.output()


def test_backend_started_by_the_addon_requires_its_per_launch_token(home, tmp_path, monkeypatch):
    monkeypatch.setenv("VCONDUCTOR_TOKEN", "inherited")  # Blender's environment does not decide the token
    proc = BackendProcess(
        [sys.executable, "-m", "vconductor"], device="cpu", env={"VCONDUCTOR_HOME": str(home)}
    )
    url = proc.start(timeout_s=90)
    try:
        token = proc.token
        assert len(token) >= 32 and token != "inherited"
        if Path(f"/proc/{proc.pid}/cmdline").exists():
            assert token not in Path(f"/proc/{proc.pid}/cmdline").read_text(), "the token is in `ps`"
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.get("/v1/health").json()["auth_required"] is True  # health stays open
            wav = write_music(tmp_path / "a.wav", 3.0)
            for response in (
                _browser_form_post(c, wav, f"http://127.0.0.1:{c.base_url.port}"),
                submit_file(c, wav),
                c.get("/v1/models"),
            ):
                assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
        assert "procedural" in {m["id"] for m in proc.client().models()}  # the add-on's own client has it
    finally:
        proc.stop()
    assert proc.returncode == 0, proc.log_tail()


@pytest.mark.parametrize(
    ("listen", "host", "allowed"),
    [
        ("127.0.0.1", "localhost:1", True),
        ("127.0.0.1", "[::1]", True),
        ("127.0.0.1", "[::1]:80", True),
        ("127.0.0.1", "127.0.0.1:", True),
        ("127.0.0.1", "evil.example:1", False),
        ("127.0.0.1", "127.0.0.1:x", False),
        ("127.0.0.1", "[evil]:1", False),
        ("127.0.0.1", "[localhost]", False),
        ("127.0.0.1", "", False),
        ("192.168.1.5", "192.168.1.5:8765", True),
        ("192.168.1.5", "192.168.1.6:8765", False),
        ("::", "anything.example", True),
    ],
)
def test_host_rule(listen, host, allowed):
    from vconductor.service.security import LocalRequestsOnly

    assert LocalRequestsOnly(None, listen).host_allowed(host) is allowed
