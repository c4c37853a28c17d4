"""Who may read monitoring data, and what responses tell browsers.

- `BearerToken`: the token check, a FastAPI dependency (a host overrides it
  with `app.dependency_overrides[router.token_dependency] = its_own_check`).
  The token is compared in constant time; no token configured means open; an
  empty or blank token is a misconfiguration and refuses everyone.
- `StreamTickets`: short-lived, single-use tickets for the stream, so that a
  browser's EventSource (which cannot send headers) never puts the token itself
  in a URL. A ticket is signed with a key derived from the token (any worker of
  the same app accepts it) and remembered as used by the process that redeemed it.
- `SecurityHeaders`: Content-Security-Policy and friends on every response.
- `redact_access_log`: `?access_token=` and `?ticket=` values never reach the
  access log in clear.
"""

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import HTTPException, Query, Request, status
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

TokenSource = Callable[[], str | None]


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong token",
        headers={"WWW-Authenticate": "Bearer"},
    )


class BearerToken:
    """401 unless `Authorization: Bearer <token>` carries the configured token."""

    def __init__(self, token: TokenSource) -> None:
        self.token = token
        self._blank_warned = False

    def expected(self) -> str | None:
        """The token to require, None when auth is off. A blank token refuses
        every request rather than silently turning auth off."""
        token = self.token()
        if token is None or token.strip():
            return token
        if not self._blank_warned:
            self._blank_warned = True
            logger.error("the monitoring API token is empty: refusing every request")
        return "\x00 blank token: nothing matches"

    def authorized(self, request: Request) -> bool:
        expected = self.expected()
        return expected is None or token_matches(_bearer(request), expected)

    def __call__(self, request: Request) -> None:
        if not self.authorized(request):
            raise unauthorized()


class StreamTickets:
    """Tickets `<expiry>.<nonce>.<signature>`, valid `ttl_s` seconds, once."""

    def __init__(self, token: TokenSource, ttl_s: float = 30.0, max_remembered: int = 100_000):
        self.token = token
        self.ttl_s = ttl_s
        self.max_remembered = max_remembered
        self._used: dict[str, float] = {}  # nonce -> expiry, until it expires
        self._process_key = secrets.token_bytes(32)  # when no token is configured

    def _key(self) -> bytes:
        token = self.token()
        if not token:
            return self._process_key
        return hashlib.sha256(b"execution-monitor stream ticket\x00" + token.encode()).digest()

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key(), payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> str:
        payload = f"{int(time.time() + self.ttl_s)}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, ticket: str) -> bool:
        """True once for a ticket this app signed that has not expired."""
        expiry_text, _, rest = ticket.partition(".")
        nonce, _, signature = rest.partition(".")
        if not (expiry_text.isdigit() and nonce and signature):
            return False
        if not secrets.compare_digest(signature, self._sign(f"{expiry_text}.{nonce}")):
            return False
        now = time.time()
        expiry = float(expiry_text)
        if expiry < now or nonce in self._used:
            return False
        self._forget_expired(now)
        if len(self._used) >= self.max_remembered:
            return False  # refuse rather than forget a ticket that is still valid
        self._used[nonce] = expiry
        return True

    def _forget_expired(self, now: float) -> None:
        if len(self._used) >= 1000:
            self._used = {nonce: exp for nonce, exp in self._used.items() if exp >= now}


class StreamAuth:
    """The stream's check: the bearer token, a stream ticket, or (for pages not
    yet using tickets) `?access_token=`, which the access log never shows."""

    def __init__(self, bearer: BearerToken, tickets: StreamTickets) -> None:
        self.bearer = bearer
        self.tickets = tickets

    def __call__(
        self,
        request: Request,
        ticket: Annotated[
            str | None,
            Query(max_length=200, description="A single-use ticket from POST .../stream/ticket"),
        ] = None,
        access_token: Annotated[
            str | None,
            Query(max_length=1000, description="Deprecated: the token itself; use a ticket"),
        ] = None,
    ) -> None:
        expected = self.bearer.expected()
        if expected is None or self.bearer.authorized(request):
            return
        if ticket is not None and self.tickets.redeem(ticket):
            return
        if token_matches(access_token, expected):
            return
        raise unauthorized()


# -- response headers ---------------------------------------------------------

# The dashboard: its own scripts, styles and API calls only; CSSOM changes
# (element.style.setProperty) are not inline styles and need no 'unsafe-inline'.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# JSON and event streams: nothing to run, nothing to frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI's page starts itself with an inline script (assets served locally).
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def dashboard_headers() -> dict[str, str]:
    return {"Content-Security-Policy": DASHBOARD_CSP, **COMMON_HEADERS}


def api_headers() -> dict[str, str]:
    return {"Content-Security-Policy": API_CSP, **COMMON_HEADERS}


class SecurityHeaders:
    """ASGI middleware: the headers above on every response that does not set
    its own (the dashboard's routes set the page's policy themselves)."""

    def __init__(self, app: ASGIApp, docs_paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(self.docs_paths) else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                for name, value in COMMON_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the access log -----------------------------------------------------------

_SECRET_PARAMETER = re.compile(r"((?:^|[?&])(?:access_token|ticket)=)[^&\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrites `access_token=` and `ticket=` values in a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, str) and "=" in arg else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and "=" in record.msg and not record.args:
            record.msg = redact(record.msg)
        return True


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install the filter on the server's access logger (once)."""
    target = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactSecrets) for f in target.filters):
        target.addFilter(RedactSecrets())
