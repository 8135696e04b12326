"""Who may use the service: programs on this machine (or holders of the token), never a web page.

A browser lets any web page send a "simple" request to 127.0.0.1 without asking first (a form POST, multipart
included), and DNS rebinding lets a page read the replies too: evil.example is made to resolve to 127.0.0.1, so
the page's requests reach this server carrying ``Host: evil.example:PORT``. Hence, on every path (/v1/health
included), before the token:

- the Host header must name this server: a loopback name (localhost, 127.0.0.1, [::1], any port) or the
  address it was started on; on a wildcard address (0.0.0.0, ::) any name, as the token that a non-loopback
  address requires protects it then;
- a request carrying an Origin header (browsers add one to every cross-origin POST and DELETE, and to
  every fetch) must come from a loopback origin or from this server's own pages (/docs);
- no CORS headers are ever granted, so no other page can read a reply or send the token.

The token itself (``Authorization: Bearer``; the add-on passes a random one per launch) is checked by BearerAuth.
"""

import hmac
import ipaddress
import re
import urllib.parse

from starlette.datastructures import Headers

from .errors import error_response

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # listening on every interface
# a Host header: a name or an IPv4 address, or an IPv6 address in brackets; then an optional port
_HOST_HEADER = re.compile(r"(?:\[([0-9a-f:.]+(?:%[\w.~-]+)?)\]|([^\[\]:/@\s]+))(?::[0-9]*)?", re.ASCII | re.I)
_QUOTED_MAX = 80  # characters of a refused Host or Origin quoted back


def is_loopback_name(name: str) -> bool:
    """localhost or a loopback address (127.0.0.0/8, ::1): a browser sends these only for a page served from
    this machine, as DNS rebinding gives the attacker's name, never an address literal."""
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str | None:
    """The name in a Host header ("localhost:8765" -> "localhost", "[::1]:80" -> "::1"); None if malformed."""
    match = _HOST_HEADER.fullmatch(header.strip())
    return None if match is None else (match[1] or match[2]).lower()


class LocalRequestsOnly:
    """Refuses requests whose Host is not this server (421) or whose Origin is a web page elsewhere (403).

    listen_host: the address the server listens on (--host); its name is accepted in Host headers too.
    A middleware, outside BearerAuth, so that every path is covered, the token check included.
    """

    def __init__(self, app, listen_host: str = "127.0.0.1"):
        self.app = app
        listen = listen_host.strip().strip("[]").lower()
        self.any_host = listen in WILDCARD_HOSTS
        self.listen_host = listen
        extra = "" if self.any_host or is_loopback_name(listen) else f" or {listen_host.strip()}"
        self.names = f"localhost, 127.0.0.1, [::1]{extra}"  # for messages

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            response = self._refusal(Headers(scope=scope))
            if response is not None:
                return await response(scope, receive, send)
        await self.app(scope, receive, send)

    def _refusal(self, headers: Headers):
        host = headers.get("host")  # none: HTTP/1.0 without Host, never a browser
        if host is not None and not self.host_allowed(host):
            message = f"this server answers only to Host {self.names}, not {host[:_QUOTED_MAX]!r}"
            return error_response(421, "wrong_host", message)
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, host):
            message = (
                f"requests from web pages are refused (Origin {origin[:_QUOTED_MAX]!r} is not this machine)"
            )
            return error_response(403, "cross_origin", message)
        return None

    def host_allowed(self, header: str) -> bool:
        name = host_name(header)
        if name is None:
            return False
        return self.any_host or name == self.listen_host or is_loopback_name(name)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """A loopback origin (any port), or this server's own pages: same scheme-less host:port as Host."""
        try:
            parts = urllib.parse.urlsplit(origin.strip())
        except ValueError:  # "http://[evil"
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            return False  # "null" (sandboxed frames, file: pages) and anything malformed
        same_origin = host is not None and parts.netloc.lower() == host.strip().lower()
        return same_origin or is_loopback_name(parts.hostname)


class BearerAuth:
    """Every path but the health check needs ``Authorization: Bearer <token>``, compared in constant time.

    A middleware rather than a dependency so that /docs, /openapi.json and unknown paths are covered too.
    """

    def __init__(self, app, token: str, open_paths=("/v1/health",)):
        self.app, self.token, self.open_paths = app, token.encode(), frozenset(open_paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in self.open_paths:
            header = Headers(scope=scope).get("authorization", "")
            scheme, _, given = header.partition(" ")
            response = None
            if scheme.lower() != "bearer" or not given.strip():
                message = "this server needs 'Authorization: Bearer <token>'"
                response = error_response(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
            elif not hmac.compare_digest(given.strip().encode("latin-1"), self.token):
                response = error_response(403, "forbidden", "wrong token")
            if response is not None:
                return await response(scope, receive, send)
        await self.app(scope, receive, send)
