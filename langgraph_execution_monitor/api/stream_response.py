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

The transport also makes the send timeout cheap. sse-starlette arms a timer
for every send (an anyio cancel scope: about 7 us, a fifth of the fan-out's
cost per client and batch at 1,000 clients), yet uvicorn's `send` only waits
when the connection's write buffer is over its limit. So a send that starts
with nothing buffered cannot wait, and goes out without the timer; the timer
guards the others (a client that reads slowly, or not at all).

The same fact lets the fan-out write a batch to an idle client itself
(`send_now`, offered to the broadcaster as a subscriber's `deliver_now`)
instead of waking the client's stream task to do it: with nothing buffered, the
whole send chain (Starlette's layers, ours, uvicorn's `send`) runs to its end
without waiting, so its coroutine is driven by hand, one step. Should it ever
wait instead (another server, a changed uvicorn), it is closed at that first
wait, before anything was written, the direct path is turned off for the
connection and the batch takes the queued path: the same bytes, in the same
order, a little later.
"""

import asyncio
import contextlib
import functools
import inspect
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langgraph_execution_monitor.live_events import BroadcasterStats

logger = logging.getLogger(__name__)

ABORT_KEY = "langgraph_execution_monitor.abort_connection"
# -> a callable: True when nothing waits in the connection's write buffer.
WRITE_BUFFER_EMPTY_KEY = "langgraph_execution_monitor.write_buffer_empty"


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


def _write_buffer_empty(transport: asyncio.WriteTransport) -> bool:
    return transport.get_write_buffer_size() == 0


class ConnectionGuard:
    """Outermost ASGI layer: gives each HTTP request a way to abort its
    connection (`scope[ABORT_KEY]`), when the server is uvicorn."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            # Duck-typed: uvloop's transports are not asyncio.Transport subclasses.
            if callable(getattr(transport, "abort", None)) and callable(
                getattr(transport, "get_write_buffer_size", None)
            ):
                scope[ABORT_KEY] = functools.partial(_abort, transport)
                scope[WRITE_BUFFER_EMPTY_KEY] = functools.partial(_write_buffer_empty, transport)
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


@dataclass
class StreamLink:
    """What a stream's event generator and its response tell each other."""

    dropped: bool = False  # set by the generator: the client fell behind
    # Set by the response: `StreamResponse.send_now`.
    send_now: Callable[[bytes], bool] | None = None


class StreamResponse(EventSourceResponse):
    """sse-starlette's response, with the send timeout and the aborts above;
    `link` is shared with the event generator."""

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        *,
        link: StreamLink | None = None,
        stats: BroadcasterStats | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, status_code=status_code, **kwargs)
        # When the stream ends, end the connection too (a stream is never
        # followed by another request on it).
        self.headers["Connection"] = "close"
        self.link = link if link is not None else StreamLink()
        self.link.send_now = self.send_now
        self.stats = stats
        self._write_buffer_empty: Callable[[], bool] | None = None
        self._send: Send | None = None  # the send the stream writes through, if direct is allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort: Callable[[], bool] | None = scope.get(ABORT_KEY)
        self._write_buffer_empty = scope.get(WRITE_BUFFER_EMPTY_KEY)
        # Driven by hand only when it is a coroutine function (as ASGI
        # middleware's and uvicorn's sends are): a step that returns tells.
        if (
            self._write_buffer_empty is not None
            and scope["type"] == "http"
            and inspect.iscoroutinefunction(send)
        ):
            self._send = send
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
        if self.link.dropped and abort is not None:
            # The `dropped` event gets a moment to reach a client that reads;
            # one that does not is reset then.
            grace = self.send_timeout or 5.0
            asyncio.get_running_loop().call_later(grace, self._aborted, abort)

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        """sse-starlette's timed send, with no timer when the send cannot wait
        (see the module's docstring)."""
        empty = self._write_buffer_empty
        if empty is not None and empty():
            await send(message)
            return
        await super()._send_with_timeout(send, message)

    def send_now(self, body: bytes) -> bool:
        """Write `body` on the stream from the caller's task, now, when that
        cannot wait (nothing buffered on the connection); True when it went.
        Call it only while the stream's own task has nothing in flight (it
        waits for its next chunk): the bytes then follow everything before."""
        send, empty = self._send, self._write_buffer_empty
        if send is None or empty is None or not self.active or not empty():
            return False
        step = send({"type": "http.response.body", "body": body, "more_body": True})
        try:
            step.send(None)  # type: ignore[attr-defined]  # a coroutine: see __call__
        except StopIteration:
            return True
        except Exception:
            # Nothing written: the queued path sends it again and meets the
            # error in the stream's own task, which ends the stream as before.
            logger.debug("a direct stream send failed; queued instead", exc_info=True)
            self._send = None
            return False
        step.close()  # type: ignore[attr-defined]  # it waited: nothing was written
        self._send = None
        logger.debug("a stream send waited with nothing buffered: direct sends off")
        return False

    def _aborted(self, abort: Callable[[], bool] | None) -> None:
        if abort is not None and abort() and self.stats is not None:
            self.stats.connections_aborted += 1
