"""A deadline for a request's headers: uvicorn's h11 protocol, closing a connection that has not sent a whole
request line and headers within `--header-timeout-s` (a 408 in the service's JSON shape, one log line).

uvicorn has no such deadline: its keep-alive timer starts only after a response, so a client that connects and
sends nothing, or half a request line, holds its connection and a descriptor forever. The deadline runs from
the connection's start, and on a kept-alive connection from the first byte of each next request: the idle wait
before that byte is uvicorn's keep-alive timeout, so the two never run at once. Bodies are the app's
(`--body-timeout-s`, service/upload.py).
"""

import json
import logging
from contextlib import suppress

import h11
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

log = logging.getLogger("uvicorn.error")  # the server's own log: same format and --log-level


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with the deadline; `protocol_with_header_timeout` sets its length."""

    header_timeout_s = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._header_deadline is None:
            self._arm_header_deadline()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # h11 has the request's headers (or refused them: a 400)
            self._cancel_header_deadline()

    def connection_lost(self, exc) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning(
            "%s sent no complete request headers in %g s: the connection is closed",
            client,
            self.header_timeout_s,
        )
        with suppress(h11.LocalProtocolError):  # h11 cannot answer in this state: closing says it all
            self._send_408()
        self.transport.close()

    def _send_408(self) -> None:
        message = f"no complete request headers in {self.header_timeout_s:g} s (--header-timeout-s)"
        body = json.dumps({"error": {"code": "header_timeout", "message": message}}).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=408, headers=headers, reason=STATUS_PHRASES[408])
        for event in (response, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))


def protocol_with_header_timeout(timeout_s: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class to pass as uvicorn.Config(http=...), with a deadline of `timeout_s` seconds."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": timeout_s})
