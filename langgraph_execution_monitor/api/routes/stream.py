"""GET .../stream: executions as they start and finish, as Server-Sent Events.

Each `execution` event carries the listing row as data and its change_seq as
id. A client that reconnects with Last-Event-ID first gets what changed since
(read from the table by the same query as live delivery), then the live
events, so a dropped connection loses nothing. A resume too far back (more
than `replay_max_changes` changes, or older than `replay_max_age_s`, or an id
this database never had) gets a `reset` event instead: reload, then live
events follow. `listener` events say when the server's database listener is
reconnecting and when it is back; `dropped` says the client fell too far
behind (its connection is then closed; it resumes with Last-Event-ID).

POST .../stream/ticket gives a single-use ticket for `?ticket=`, for browsers
whose EventSource cannot send the token in a header.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field
from sse_starlette import ServerSentEvent

from langgraph_execution_monitor.api.deps import (
    ConversationIdFilter,
    MonitorServices,
    StatusFilter,
    UserIdFilter,
)
from langgraph_execution_monitor.api.schemas import ErrorDetail
from langgraph_execution_monitor.api.security import StreamAuth, StreamTickets
from langgraph_execution_monitor.api.stream_response import StreamResponse
from langgraph_execution_monitor.live_events import (
    ChangeBatch,
    Dropped,
    ExecutionBroadcaster,
    ExecutionChange,
    ListenerState,
    StreamFilters,
)

REPLAY_PAGE = 1000


class StreamTicket(BaseModel):
    ticket: str = Field(description="Pass as `?ticket=` to the stream, once")
    expires_in_s: float


async def replay(
    broadcaster: ExecutionBroadcaster, after_seq: int, filters: StreamFilters
) -> AsyncIterator[ChangeBatch]:
    """What changed after `after_seq`, a page at a time."""
    while True:
        changes = await broadcaster.changes_since(after_seq, filters, limit=REPLAY_PAGE)
        if changes:
            yield ChangeBatch.of([ExecutionChange(seq, data) for seq, data in changes])
            after_seq = changes[-1][0]
        if len(changes) < REPLAY_PAGE:
            return


def listener_event(state: str) -> bytes:
    return ServerSentEvent(data=json.dumps({"state": state}), event="listener").encode()


def reset_event(latest: int, reason: str | None) -> bytes:
    data = {"reason": f"{reason}; reload the listing", "latest": latest}
    return ServerSentEvent(data=json.dumps(data), event="reset", id=str(latest)).encode()


DROPPED_EVENT = ServerSentEvent(
    data=json.dumps({"reason": "client too slow; reconnect to resume"}), event="dropped"
).encode()


def newer_than(batch: ChangeBatch, sent_up_to: int) -> bytes:
    """The batch's events after `sent_up_to` (a replay may overlap the live queue)."""
    if batch.changes[0].change_seq > sent_up_to:
        return batch.encoded
    return b"".join(c.encode() for c in batch.changes if c.change_seq > sent_up_to)


async def stream_events(
    broadcaster: ExecutionBroadcaster,
    filters: StreamFilters,
    last_event_id: int | None,
    outcome: dict[str, Any],
) -> AsyncIterator[bytes]:
    # Subscribed here, not in the endpoint: a client gone before its stream
    # starts never leaves a subscriber behind.
    subscriber = broadcaster.subscribe(filters)
    try:
        yield listener_event(broadcaster.state)
        sent_up_to = 0
        if last_event_id is not None:
            # Subscribed first, then replayed: nothing falls in between.
            plan = await broadcaster.plan_replay(last_event_id)
            if plan.reset:
                sent_up_to = plan.after
                yield reset_event(plan.after, plan.reason)
            else:
                sent_up_to = last_event_id
                async for batch in replay(broadcaster, last_event_id, subscriber.filters):
                    sent_up_to = batch.changes[-1].change_seq
                    yield batch.encoded
        while True:
            # Everything waiting goes out in one write.
            items = [await subscriber.queue.get()]
            while not subscriber.queue.empty():
                items.append(subscriber.queue.get_nowait())
            chunks: list[bytes] = []
            for item in items:
                subscriber.taken(item)
                if isinstance(item, Dropped):
                    outcome["dropped"] = True
                    yield b"".join([*chunks, DROPPED_EVENT])
                    return
                if isinstance(item, ListenerState):
                    chunks.append(listener_event(item.state))
                else:
                    chunks.append(newer_than(item, sent_up_to))
            yield b"".join(chunks)
    finally:
        broadcaster.unsubscribe(subscriber)


def add_stream_routes(
    router: APIRouter,
    monitor: MonitorServices,
    auth: StreamAuth,
    tickets: StreamTickets,
    token_dependency: Any,
    *,
    heartbeat_s: float = 15.0,
    send_timeout_s: float = 10.0,
) -> None:
    @router.post(
        "/stream/ticket",
        response_model=StreamTicket,
        summary="A single-use ticket to open the stream without the token in its URL",
        dependencies=[Depends(token_dependency)],
        responses={401: {"model": ErrorDetail}},
        tags=["live"],
    )
    async def stream_ticket() -> StreamTicket:
        return StreamTicket(ticket=tickets.issue(), expires_in_s=tickets.ttl_s)

    @router.get(
        "/stream",
        summary="Live executions (Server-Sent Events)",
        dependencies=[Depends(auth)],
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
            401: {"model": ErrorDetail},
            422: {"model": ErrorDetail},
        },
        response_class=StreamResponse,
        tags=["live"],
    )
    async def stream(
        status: StatusFilter = None,
        user_id: UserIdFilter = None,
        conversation_id: ConversationIdFilter = None,
        last_event_id: Annotated[
            int | None, Header(ge=0, le=2**62, description="Resume after this event id")
        ] = None,
    ) -> StreamResponse:
        outcome: dict[str, Any] = {}
        return StreamResponse(
            stream_events(
                monitor.broadcaster,
                StreamFilters(status, user_id, conversation_id),
                last_event_id,
                outcome,
            ),
            outcome=outcome,
            stats=monitor.broadcaster.stats,
            ping=heartbeat_s,
            send_timeout=send_timeout_s,
        )
