"""The stream's response: sse-starlette's, with a send timeout, and a
connection that really closes when the stream ends on our side.

A client that stops reading fills the kernel's buffers, then the server's
transport buffer; a send then waits for it forever. `send_timeout` bounds that
wait. But closing an asyncio transport waits until its buffer is flushed, which
a client that never reads never allows: the socket (and megabytes of kernel
send queue) would stay. So when a stream ends because the client was too slow
(dropped, or a send timed out), the connection is aborted (reset), not closed.

Aborting needs the server's transport, which ASGI does not expose. What we
read of uvicorn for it (its `send` is a bound method of the request cycle,
which holds `transport`) sits in `ConnectionGuard`, the app's outermost layer;
under another server, or without the guard, the stream still ends and the
connection is closed as the server sees fit (nothing breaks, it only lingers).
"""

import asyncio
import contextlib
import functools
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from langgraph_execution_monitor.live_events import BroadcasterStats

logger = logging.getLogger(__name__)

ABORT_KEY = "langgraph_execution_monitor.abort_connection"


def _abort(transport: asyncio.Transport) -> bool:
    """Reset the connection now, dropping what is buffered. True if it was
    still open (or still holding unsent data)."""
    sock = transport.get_extra_info("socket")
    still_open = sock is not None and sock.fileno() != -1
    if not still_open:
        return False
    with contextlib.suppress(OSError, AttributeError):
        # linger 0: close with a RST, freeing the kernel's send queue at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


class ConnectionGuard:
    """Outermost ASGI layer: gives each HTTP request a way to abort its
    connection (`scope[ABORT_KEY]`), when the server is uvicorn."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if isinstance(transport, asyncio.Transport):
                scope[ABORT_KEY] = functools.partial(_abort, transport)
        await self.app(scope, receive, send)


def install_connection_guard(app: Starlette) -> None:
    """Make `ConnectionGuard` the app's outermost layer (outside Starlette's
    error middleware, which wraps `send`)."""
    build = app.build_middleware_stack
    if getattr(build, "connection_guarded", False):
        return

    def guarded_build() -> ASGIApp:
        return ConnectionGuard(build())

    guarded_build.connection_guarded = True  # type: ignore[attr-defined]
    app.build_middleware_stack = guarded_build  # type: ignore[method-assign]


class StreamResponse(EventSourceResponse):
    """`outcome["dropped"]`, set by the event generator, says the stream ended
    because the client fell behind."""

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        *,
        outcome: dict[str, Any] | None = None,
        stats: BroadcasterStats | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, status_code=status_code, **kwargs)
        # When the stream ends, end the connection too (a stream is never
        # followed by another request on it).
        self.headers["Connection"] = "close"
        self.outcome = outcome if outcome is not None else {}
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort: Callable[[], bool] | None = scope.get(ABORT_KEY)
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            if self.stats is not None:
                self.stats.send_timeouts += 1
            logger.warning(
                "a stream client stopped reading for %ss: disconnected", self.send_timeout
            )
            self._aborted(abort)
            await asyncio.sleep(0)  # let the server see the connection lost
            return
        if self.outcome.get("dropped") and abort is not None:
            # The `dropped` event gets a moment to reach a client that reads;
            # one that does not is reset then.
            grace = self.send_timeout or 5.0
            asyncio.get_running_loop().call_later(grace, self._aborted, abort)

    def _aborted(self, abort: Callable[[], bool] | None) -> None:
        if abort is not None and abort() and self.stats is not None:
            self.stats.connections_aborted += 1
