"""`vconductor serve`: the HTTP service (FastAPI + uvicorn) in this process.

Only the standard library is imported until the command runs, so `vconductor --help` stays instant. With
`--port 0 --port-file F` the system picks a free port and F receives it (atomically) once the server accepts
connections: a parent process such as the Blender add-on starts the server and waits for F. F is removed on a
clean exit (SIGTERM, SIGINT); after a crash or SIGKILL it is stale, so a parent should delete F before starting.
"""

import argparse
import functools
import ipaddress
import os
import signal
import socket
import sys
from pathlib import Path

TOKEN_ENV = "VCONDUCTOR_TOKEN"
DEFAULT_PORT = 8765
PARENT_POLL_S = 0.5  # how often --parent-pid is checked


class _Refused(Exception):
    """A reason not to start, printed as one line."""


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the `serve` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "serve",
        help="run the HTTP service (used by the Blender add-on)",
        description="Serve generation over HTTP: API under /v1, docs at /docs.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; a non-loopback one needs --token (Host headers must name this address "
        "or a loopback one; any, on 0.0.0.0 or ::)",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (see --port-file)"
    )
    p.add_argument("--port-file", help="write the port to this file once listening (removed at exit)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"require 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV}, which other users cannot see in "
        "the process list)",
    )
    p.add_argument("--max-upload-mb", type=float, default=512, help="largest request body (MiB)")
    p.add_argument("--max-duration-s", type=float, help="longest audio (seconds; default: 3 hours)")
    p.add_argument("--job-ttl-s", type=float, default=3600, help="how long finished jobs are kept")
    p.add_argument(
        "--body-timeout-s",
        type=float,
        default=30,
        help="longest wait for the next piece of a request body (seconds); a stalled upload is cut with a 408",
    )
    p.add_argument(
        "--header-timeout-s",
        type=float,
        default=10,
        help="longest wait for a request's line and headers (seconds); a connection that sends them no faster "
        "is closed with a 408",
    )
    p.add_argument("--max-queue", type=int, default=64, help="jobs queued or running at most")
    p.add_argument(
        "--max-results-mb",
        type=float,
        default=1024,
        help="keypoints kept for finished jobs (MiB); past it the oldest are forgotten",
    )
    p.add_argument(
        "--parent-pid",
        type=int,
        help="stop when this process exits (the add-on passes Blender's, so a crash leaves no server)",
    )
    p.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=cmd_serve)
    return p


def cmd_serve(args) -> int:
    try:
        config = _config(args)
        _check_host(args.host, config.token)
        if config.device == "cuda":
            _check_cuda()
        sock = _listen(args.host, args.port)
    except _Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):  # until uvicorn takes over, and after: remember, don't die
        signal.signal(sig, lambda s, _frame: signals.append(s))

    import asyncio

    import uvicorn

    from .app import create_app
    from .header_timeout import protocol_with_header_timeout

    app = create_app(config)
    http = protocol_with_header_timeout(args.header_timeout_s)
    server = _stopping_server(uvicorn)(
        uvicorn.Config(
            app, http=http, log_level=args.log_level, access_log=False, timeout_graceful_shutdown=5
        ),
        on_shutdown=app.state.service.begin_shutdown,
    )
    port = sock.getsockname()[1]
    port_file = Path(args.port_file) if args.port_file else None
    try:
        on_started = functools.partial(_started, args.host, port, port_file, config)
        asyncio.run(_serve(server, sock, signals, on_started, args.parent_pid))
    except _Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SystemExit:  # uvicorn exits when the app fails to start; it has logged why
        return 1
    finally:
        _remove_port_file(port_file, port)
    return 0


def _stopping_server(uvicorn):
    class StoppingServer(uvicorn.Server):
        """uvicorn's server, telling the app the moment it starts to stop (uploads in flight are answered
        then, rather than cut after the grace period)."""

        def __init__(self, config, on_shutdown):
            super().__init__(config)
            self.on_shutdown = on_shutdown

        async def shutdown(self, sockets=None):
            self.on_shutdown()
            await super().shutdown(sockets)

    return StoppingServer


async def _serve(server, sock: socket.socket, signals: list[int], on_started, parent_pid: int | None) -> None:
    import asyncio

    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        try:
            on_started()
        except _Refused:
            server.should_exit = True
            await task
            raise
        if signals:  # a signal that came while starting
            server.should_exit = True
    if parent_pid is not None:
        from .parent_watch import process_alive

        while not task.done():
            await asyncio.sleep(PARENT_POLL_S)
            if not server.should_exit and not process_alive(parent_pid):
                print(f"vconductor service: parent process {parent_pid} is gone; stopping", file=sys.stderr)
                server.should_exit = True
    await task


def _started(host: str, port: int, port_file: Path | None, config) -> None:
    if port_file is not None:
        from ..contract import atomic_output

        try:
            with atomic_output(port_file) as tmp:
                tmp.write_text(f"{port}\n")
        except OSError as exc:
            raise _Refused(f"cannot write the port file {port_file}: {exc.strerror or exc}") from None
    auth = "token required" if config.token else "no token"
    url_host = f"[{host}]" if ":" in host else host
    print(f"vconductor service on http://{url_host}:{port} (device {config.device}, {auth})", file=sys.stderr)


def _remove_port_file(port_file: Path | None, port: int) -> None:
    """Remove the port file if it still names this server (another one may have replaced it)."""
    try:
        if port_file is not None and port_file.read_text().strip() == str(port):
            port_file.unlink()
    except OSError:
        pass


def _config(args):
    from ..contract import MAX_DURATION_S
    from .app import MiB, ServiceConfig

    max_duration_s = MAX_DURATION_S if args.max_duration_s is None else args.max_duration_s
    if not 0 <= args.port <= 65535:
        raise _Refused(f"--port must be 0..65535, not {args.port}")
    limits = {
        "--max-upload-mb": args.max_upload_mb,
        "--max-duration-s": max_duration_s,
        "--job-ttl-s": args.job_ttl_s,
        "--body-timeout-s": args.body_timeout_s,
        "--header-timeout-s": args.header_timeout_s,
        "--max-queue": args.max_queue,
        "--max-results-mb": args.max_results_mb,
    }
    for flag, value in limits.items():
        if not value > 0 or value == float("inf"):
            raise _Refused(f"{flag} must be a positive number, not {value}")
    if args.token is not None and not args.token.strip():
        raise _Refused("--token must not be empty")
    return ServiceConfig(
        device=args.device,
        token=args.token,
        host=args.host,  # its name is the one non-loopback Host header accepted
        max_upload_bytes=int(args.max_upload_mb * MiB),
        max_duration_s=max_duration_s,
        job_ttl_s=args.job_ttl_s,
        body_timeout_s=args.body_timeout_s,
        max_queue=args.max_queue,
        max_result_bytes=int(args.max_results_mb * MiB),
    )


def _check_host(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token: anyone who can reach the port could use it."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except socket.gaierror as exc:
        raise _Refused(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    loopback = all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    if not loopback and token is None:
        raise _Refused(
            f"listening on {host} (beyond this machine) needs a token: pass --token or set {TOKEN_ENV}"
        )


def _check_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise _Refused("--device cuda, but no CUDA device is available (use --device auto or cpu)")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket bound now, so a taken port is a clear error and port 0 tells its number."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _Refused(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
