"""The vconductor HTTP service: `vconductor serve` (cli.py) runs ``app.create_app`` under uvicorn.

Modules: app (routes, the Service behind them), security (Host, Origin, token), upload (receiving request
bodies), intake (decoding and checking uploads), worker (the device thread and its queue), store (job records,
expiry, caps), catalog (which models a job may use), schemas (options and response bodies), errors (the one
JSON error shape), lifetime (shutting down with requests in flight).

For client authors (the Blender add-on):
- Start ``vconductor serve --port 0 --port-file F`` after deleting F (a crashed server leaves it stale); wait
  for F, read the port, then poll GET /v1/health. Pass a token through $VCONDUCTOR_TOKEN, not the command line.
- POST /v1/jobs answers after the audio is decoded and checked: allow it time (about 5 s for 3 h of audio).
  A 422 carries the reason (corrupt, silent, too short...); a 429 means the queue is full: retry after
  Retry-After seconds.
- Poll GET /v1/jobs/{id} (progress 0..1, message) until state is done, failed or cancelled, then fetch
  result.npz (compact; prefer it for long pieces) or result (JSON). Finished jobs expire after --job-ttl-s.
- The server can die (killed, out of memory): every request can fail with a connection error. Treat that as
  "server gone": its jobs are lost; restart it and submit again. A server told to stop answers the requests
  in flight with a 503 (code shutting_down) and exits. An upload that stalls for --body-timeout-s gets a 408.

Only the command-line hook is imported here: FastAPI loads when the service starts, not with the CLI.
"""

from .cli import add_cli

__all__ = ["add_cli"]
