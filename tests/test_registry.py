"""The user-side model registry: add/pull/list/resolve/remove, md5 and kind checks, and the `models` CLI.

Downloads are real: a local http.server on 127.0.0.1 serves files from tmp_path.
"""

import argparse
import functools
import hashlib
import http.server
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from vconductor import registry
from vconductor.models import Discriminator, Generator, M2SNet
from vconductor.models.checkpoints import KIND_PREFIXES
from vconductor.registry import RegistryError

SHARED_CHECKPOINTS = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "checkpoints"
OFFICIAL_GENERATOR = SHARED_CHECKPOINTS / "M2SGAN_official_pretrained.pt"
OFFICIAL_M2SNET = SHARED_CHECKPOINTS / "M2SNet_official_pretrained.pt"
needs_official = pytest.mark.skipif(
    not (OFFICIAL_GENERATOR.is_file() and OFFICIAL_M2SNET.is_file()),
    reason=f"official checkpoints not found in {SHARED_CHECKPOINTS} (../shared is absent in a user's clone)",
)


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Small real checkpoints with random weights, one per kind (plain state_dicts, like the official files)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    files = {}
    for kind, model in (("generator", Generator()), ("m2snet", M2SNet()), ("discriminator", Discriminator())):
        files[kind] = folder / f"my_{kind}.pt"
        torch.save(model.state_dict(), files[kind])
    return files


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty cache; no URL base override unless a test sets one."""
    monkeypatch.setenv("VCONDUCTOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VCONDUCTOR_MODEL_URL_BASE", raising=False)
    return tmp_path / "home"


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL ending in '/')."""
    root = tmp_path / "www"
    root.mkdir()

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/redirect/"):  # like GitHub's raw/ -> raw.githubusercontent.com
                self.send_response(302)
                self.send_header("Location", self.path.removeprefix("/redirect"))
                self.end_headers()
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/model.pt"  # nothing listens there any more: connection refused


def cache_contents(home: Path) -> list[str]:
    folder = home / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------------------------------ home


def test_home_prefers_vconductor_home_then_xdg_then_dot_cache(tmp_path, monkeypatch):
    assert registry.home() == tmp_path / "home"
    monkeypatch.delenv("VCONDUCTOR_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert registry.home() == tmp_path / "xdg" / "vconductor"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert registry.home() == Path.home() / ".cache" / "vconductor"


def test_the_registry_knows_the_kinds_checkpoints_have():
    assert tuple(KIND_PREFIXES) == registry.KINDS


def test_known_models_use_the_url_base(monkeypatch):
    known = registry.known_models()
    assert set(known) == {"official", "m2snet-official", "m2snet-test-official"}
    assert known["official"]["md5"] == "3044c029229a81cc7ffb1e6836d61e5d"
    assert known["official"]["url"] == (
        "https://github.com/ChenDelong1999/VirtualConductor/raw/main/"
        "checkpoints/M2SGAN/M2SGAN_official_pretrained.pt"
    )
    monkeypatch.setenv("VCONDUCTOR_MODEL_URL_BASE", "http://mirror.example/vc")
    assert registry.known_models()["m2snet-official"]["url"] == (
        "http://mirror.example/vc/checkpoints/M2SNet/M2SNet_official_pretrained.pt"
    )


# --------------------------------------------------------------------------------------- add/list/remove


def test_add_list_resolve_remove(checkpoints, cache_home):
    assert registry.list_models() == []
    entry = registry.add_model("mine", checkpoints["generator"])
    assert entry.name == "mine" and entry.kind == "generator"
    assert entry.path == cache_home / "models" / "mine.pt"
    assert entry.md5 == md5_of(checkpoints["generator"]) == md5_of(entry.path)
    assert entry.source == str(checkpoints["generator"].resolve())
    assert entry.id == f"mine@{entry.md5[:8]}"
    assert cache_contents(cache_home) == ["index.json", "mine.pt"]  # no temporary files left

    assert registry.list_models() == [entry]
    assert registry.resolve_model("mine") == entry
    assert registry.default_model() == entry

    registry.remove_model("mine")
    assert registry.list_models() == []
    assert cache_contents(cache_home) == ["index.json"]
    with pytest.raises(RegistryError, match="no model named 'mine'"):
        registry.remove_model("mine")


def files_under(home: Path) -> dict[str, bytes]:
    """Every file under `home` (hidden temporary ones included) with its bytes."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def cli_under_file_size_limit(args: list[str], max_file_bytes: int) -> subprocess.CompletedProcess:
    """`vconductor ARGS` in a real process whose writes past `max_file_bytes` fail (as under `ulimit -f`)."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), no kill

    return subprocess.run(
        [sys.executable, "-m", "vconductor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )


def test_add_is_all_or_nothing_when_the_index_cannot_be_written(checkpoints, cache_home):
    """The copy fits under the file-size limit but the grown index does not: a real write failure after the
    copy. The cache is left exactly as it was: no new file, no temp file, the replaced file and index intact."""
    registry.add_model("mine", checkpoints["generator"])
    index = cache_home / "models" / "index.json"
    models = json.loads(index.read_text())["models"]
    for k in range(1500):  # a long-used cache: an index larger than a small checkpoint
        models[f"run-{k:04d}"] = {
            "kind": "generator",
            "file": f"run-{k:04d}.pt",
            "md5": f"{k:032x}",
            "source": f"/data/training/runs/run-{k:04d}/generator.pt",
            "added": "2025-01-01T00:00:00+00:00",
        }
    index.write_text(json.dumps({"version": 1, "models": models}, indent=2) + "\n")
    limit = checkpoints["discriminator"].stat().st_size + 4096
    assert index.stat().st_size > limit
    before = files_under(cache_home)
    for args in (["other"], ["mine", "--force"]):
        name, *force = args
        proc = cli_under_file_size_limit(
            ["models", "add", name, str(checkpoints["discriminator"]), *force], limit
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"error: cannot write the model index {index}: File too large")
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert files_under(cache_home) == before, args
    assert registry.resolve_model("mine").md5 == md5_of(checkpoints["generator"])


def test_a_failed_first_add_leaves_no_cache_folder(tmp_path, cache_home):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(RegistryError):
        registry.add_model("junk", junk)
    assert not cache_home.exists()


@pytest.mark.parametrize("kind", ["generator", "m2snet", "discriminator"])
def test_kind_is_detected_from_the_state_dict(checkpoints, kind):
    assert registry.add_model(f"my-{kind}", checkpoints[kind]).kind == kind
    assert registry.resolve_model(f"my-{kind}", kind=kind).kind == kind
    by_path = registry.resolve_model(checkpoints[kind], kind=kind)
    assert (by_path.kind, by_path.registered, by_path.name) == (kind, False, f"my_{kind}")
    assert by_path.id == f"file:my_{kind}@{by_path.md5[:8]}"


def test_kind_mismatch_is_refused(checkpoints):
    registry.add_model("net", checkpoints["m2snet"])
    with pytest.raises(RegistryError, match="'net' is an m2snet checkpoint, but a generator is needed"):
        registry.resolve_model("net")
    with pytest.raises(RegistryError, match="is an m2snet checkpoint, but a generator is needed"):
        registry.resolve_model(str(checkpoints["m2snet"]), kind="generator")
    assert registry.resolve_model("net", kind=None).kind == "m2snet"


def test_duplicate_name_needs_force(checkpoints):
    registry.add_model("mine", checkpoints["generator"])
    with pytest.raises(RegistryError, match="already registered.*force"):
        registry.add_model("mine", checkpoints["m2snet"])
    assert registry.resolve_model("mine").kind == "generator"
    replaced = registry.add_model("mine", checkpoints["m2snet"], force=True)
    assert replaced.kind == "m2snet" and replaced.md5 == md5_of(checkpoints["m2snet"])
    assert [e.name for e in registry.list_models()] == ["mine"]


@pytest.mark.parametrize(
    "name", ["", "Official", "-x", ".hidden", "a/b", "../up", "a b", "x.pt", "a" * 65, "ünï"]
)
def test_bad_names_are_refused(checkpoints, cache_home, name):
    with pytest.raises(RegistryError, match="name"):
        registry.add_model(name, checkpoints["generator"])
    assert cache_contents(cache_home) == []


def test_a_64_character_name_is_fine(checkpoints):
    assert registry.add_model("a" * 64, checkpoints["discriminator"]).name == "a" * 64


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(RegistryError, match="no such file"):
        registry.add_model("mine", tmp_path / "absent.pt")


def test_non_checkpoint_file_is_refused_and_nothing_stored(tmp_path, cache_home):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(RegistryError, match="not a vconductor/VirtualConductor checkpoint"):
        registry.add_model("junk", junk)
    assert cache_contents(cache_home) == []
    with pytest.raises(RegistryError, match="not a vconductor/VirtualConductor checkpoint"):
        registry.resolve_model(junk)


def test_unrelated_state_dict_is_refused(tmp_path, cache_home):
    other = tmp_path / "resnet.pt"
    torch.save({"layer1.weight": torch.zeros(3)}, other)
    with pytest.raises(RegistryError, match="not a vconductor/VirtualConductor checkpoint"):
        registry.add_model("resnet", other)
    assert cache_contents(cache_home) == []


def test_checkpoint_that_does_not_load_is_refused(checkpoints, tmp_path, cache_home):
    broken = tmp_path / "broken.pt"
    state = torch.load(checkpoints["generator"], weights_only=True)
    state.pop(next(k for k in state if k.startswith("decoder.")))
    torch.save(state, broken)
    with pytest.raises(RegistryError, match=f"^{broken} does not fit the generator.*1 missing keys"):
        registry.add_model("broken", broken)
    assert cache_contents(cache_home) == []


def test_errors_name_the_users_file_not_the_temporary_copy(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(RegistryError) as caught:
        registry.add_model("junk", junk)
    assert str(junk) in str(caught.value) and ".tmp" not in str(caught.value)


def test_the_registered_copy_outlives_the_source(checkpoints, tmp_path):
    source = tmp_path / "gen.pt"
    shutil.copy(checkpoints["generator"], source)
    registry.add_model("mine", source)
    source.unlink()
    assert registry.resolve_model("mine").path.is_file()


def test_known_name_needs_the_official_md5(checkpoints, cache_home):
    actual = md5_of(checkpoints["generator"])
    with pytest.raises(RegistryError, match=f"md5 is {actual}, expected 3044c029229a81cc7ffb1e6836d61e5d"):
        registry.add_model("official", checkpoints["generator"])
    assert cache_contents(cache_home) == []


# ---------------------------------------------------------------------------------------------- resolve


def test_resolve_unknown_name_lists_registered_and_says_how_to_add(checkpoints):
    with pytest.raises(RegistryError, match=r"no models are registered.*models add NAME PATH"):
        registry.resolve_model("nothing")
    registry.add_model("mine", checkpoints["generator"])
    with pytest.raises(RegistryError, match=r"registered: mine\).*models pull official"):
        registry.resolve_model("nothing")
    with pytest.raises(RegistryError, match="models pull official"):
        registry.resolve_model("official")
    with pytest.raises(RegistryError, match="no such checkpoint file"):
        registry.resolve_model("missing/model.pt")


def test_resolve_notices_a_deleted_cache_file(checkpoints):
    entry = registry.add_model("mine", checkpoints["generator"])
    entry.path.unlink()
    with pytest.raises(RegistryError, match="file of model 'mine' is missing"):
        registry.resolve_model("mine")


def test_default_model_prefers_official_then_first_registered(checkpoints):
    assert registry.default_model() is None
    registry.add_model("zeta", checkpoints["generator"])
    registry.add_model("alpha", checkpoints["generator"])
    registry.add_model("net", checkpoints["m2snet"])
    assert registry.default_model().name == "zeta"  # registration order, not alphabetical
    assert registry.default_model("m2snet").name == "net"
    assert registry.default_model("discriminator") is None


def test_corrupt_index_is_a_clear_error(cache_home):
    (cache_home / "models").mkdir(parents=True)
    (cache_home / "models" / "index.json").write_text("{not json")
    with pytest.raises(RegistryError, match="index.*unreadable"):
        registry.list_models()


# ------------------------------------------------------------------------------------------------- pull


def test_pull_unknown_name_from_url(server, checkpoints, cache_home):
    root, base = server
    shutil.copy(checkpoints["m2snet"], root / "net.pt")
    entry = registry.pull_model("my-net", base + "net.pt", progress=False)
    assert (entry.kind, entry.source, entry.md5) == ("m2snet", base + "net.pt", md5_of(checkpoints["m2snet"]))
    assert registry.resolve_model("my-net", kind="m2snet") == entry
    assert cache_contents(cache_home) == ["index.json", "my-net.pt"]


def test_cached_files_follow_the_umask_not_private(server, checkpoints):
    umask = os.umask(0o022)
    os.umask(umask)
    root, base = server
    shutil.copy(checkpoints["generator"], root / "gen.pt")
    pulled = registry.pull_model("pulled", base + "gen.pt", progress=False)
    added = registry.add_model("added", checkpoints["generator"])
    for path in (pulled.path, added.path, pulled.path.with_name("index.json")):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_pull_follows_redirects(server, checkpoints):
    root, base = server
    shutil.copy(checkpoints["generator"], root / "gen.pt")
    entry = registry.pull_model("mine", base + "redirect/gen.pt", progress=False)
    assert entry.md5 == md5_of(checkpoints["generator"])


def test_pull_refuses_oversized_downloads(server, cache_home, monkeypatch):
    root, base = server
    (root / "big.pt").write_bytes(bytes(2048))
    monkeypatch.setattr(registry.operations, "MAX_DOWNLOAD_BYTES", 1024)
    with pytest.raises(RegistryError, match="too large"):
        registry.pull_model("big", base + "big.pt", progress=False)
    assert cache_contents(cache_home) == []


def test_pull_unknown_name_needs_a_url():
    with pytest.raises(RegistryError, match="not an official model.*--url"):
        registry.pull_model("mine", progress=False)


def test_pull_known_name_with_wrong_md5_stores_nothing(server, checkpoints, cache_home, monkeypatch):
    root, base = server
    target = root / "checkpoints" / "M2SGAN" / "M2SGAN_official_pretrained.pt"
    target.parent.mkdir(parents=True)
    shutil.copy(checkpoints["generator"], target)  # a real generator, but not the official weights
    monkeypatch.setenv("VCONDUCTOR_MODEL_URL_BASE", base)
    with pytest.raises(RegistryError, match="expected 3044c029229a81cc7ffb1e6836d61e5d"):
        registry.pull_model("official", progress=False)
    assert cache_contents(cache_home) == []


def test_pull_http_error_stores_nothing(server, cache_home):
    _, base = server
    with pytest.raises(RegistryError, match="HTTP 404.*models add mine PATH"):
        registry.pull_model("mine", base + "absent.pt", progress=False)
    assert cache_contents(cache_home) == []


def test_pull_unreachable_url_is_a_clear_error(cache_home):
    with pytest.raises(
        RegistryError, match=r"could not download .*refused.*offline.*models add official PATH"
    ):
        registry.pull_model("official", closed_port_url(), progress=False)
    assert cache_contents(cache_home) == []


def test_pull_refuses_an_existing_name_before_downloading(checkpoints):
    registry.add_model("mine", checkpoints["generator"])
    with pytest.raises(RegistryError, match="already registered"):
        registry.pull_model("mine", closed_port_url(), progress=False)


# --------------------------------------------------------------------------------- the official weights


@pytest.mark.shared
@needs_official
def test_add_official_checkpoint():
    entry = registry.add_model("official", OFFICIAL_GENERATOR)
    assert entry.kind == "generator" and entry.id == "official"
    assert registry.resolve_model("official").md5 == "3044c029229a81cc7ffb1e6836d61e5d"
    assert registry.default_model() == entry
    # The same bytes used by path are still recognised as the official model.
    assert registry.resolve_model(OFFICIAL_GENERATOR).id == "official"


@pytest.mark.shared
@needs_official
def test_m2snet_file_is_not_the_official_generator(cache_home):
    with pytest.raises(RegistryError, match="md5 is c29ae26cf88b2dc3cce87c6b8175734b, expected 3044c029"):
        registry.add_model("official", OFFICIAL_M2SNET)
    assert cache_contents(cache_home) == []
    assert registry.add_model("m2snet-official", OFFICIAL_M2SNET).kind == "m2snet"
    assert registry.default_model("m2snet").name == "m2snet-official"


@pytest.mark.shared
@needs_official
def test_pull_official_from_a_mirror(server, monkeypatch):
    root, base = server
    target = root / "checkpoints" / "M2SGAN" / "M2SGAN_official_pretrained.pt"
    target.parent.mkdir(parents=True)
    shutil.copy(OFFICIAL_GENERATOR, target)
    monkeypatch.setenv("VCONDUCTOR_MODEL_URL_BASE", base.rstrip("/"))  # a base without the slash works too
    entry = registry.pull_model("official", progress=False)
    assert entry.source == base + "checkpoints/M2SGAN/M2SGAN_official_pretrained.pt"
    assert registry.resolve_model("official") == entry


# --------------------------------------------------------------------------------------------------- CLI


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="vconductor")
    registry.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_list_add_remove_path(checkpoints, cache_home, capsys):
    assert run_cli("models") == 0
    assert "no models registered" in capsys.readouterr().out

    assert run_cli("models", "add", "mine", str(checkpoints["generator"])) == 0
    assert "registered mine (generator" in capsys.readouterr().out

    assert run_cli("models", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "MD5", "PATH"]
    md5 = md5_of(checkpoints["generator"])[:8]
    assert lines[1].split() == ["mine", "generator", md5, str(cache_home / "models" / "mine.pt")]

    assert run_cli("models", "path") == 0
    assert capsys.readouterr().out.strip() == str(cache_home / "models")

    assert run_cli("models", "remove", "mine") == 0
    assert registry.list_models() == []


def test_cli_errors_are_one_line_without_traceback(checkpoints, tmp_path, capsys):
    assert run_cli("models", "add", "mine", str(tmp_path / "absent.pt")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no such file") and err.count("\n") == 1 and "Traceback" not in err

    broken = tmp_path / "broken.pt"
    torch.save({"decoder.linear.weight": torch.zeros(1)}, broken)  # many missing keys: a multi-line reason
    assert run_cli("models", "add", "mine", str(broken)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "missing keys" in err

    assert run_cli("models", "add", "mine", str(checkpoints["generator"])) == 0
    assert run_cli("models", "add", "mine", str(checkpoints["generator"])) == 1
    assert "already registered" in capsys.readouterr().err
    assert run_cli("models", "add", "mine", str(checkpoints["generator"]), "--force") == 0

    assert run_cli("models", "remove", "nothing") == 1
    assert "no model named 'nothing'" in capsys.readouterr().err


def test_cli_pull(server, checkpoints, capsys):
    root, base = server
    shutil.copy(checkpoints["discriminator"], root / "d.pt")
    assert run_cli("models", "pull", "disc", "--url", base + "d.pt") == 0
    assert "registered disc (discriminator" in capsys.readouterr().out
    assert run_cli("models", "pull", "official", "--url", closed_port_url()) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not download") and "models add official PATH" in err
