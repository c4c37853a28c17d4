"""GET /api/v1/monitoring/stream: executions as they start and finish, as
Server-Sent Events.

Each `execution` event carries the listing row as data and its change_seq as
id. A client that reconnects with Last-Event-ID first gets what changed since
(read from the table), then the live events, so a dropped connection loses
nothing. `listener` events say when the server's database listener is
reconnecting and when it is back."""

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from langgraph_execution_monitor.api.deps import (
    ConversationIdFilter,
    Pool,
    StatusFilter,
    UserIdFilter,
    require_stream_token,
)
from langgraph_execution_monitor.api.schemas import ErrorDetail
from langgraph_execution_monitor.live_events import (
    ChangeBatch,
    Dropped,
    ExecutionBroadcaster,
    ExecutionChange,
    ListenerState,
    StreamFilters,
)
from langgraph_execution_monitor.storage import queries

router = APIRouter(prefix="/api/v1/monitoring", tags=["live"])

REPLAY_PAGE = 1000


async def replay(pool: Pool, after_seq: int, filters: StreamFilters) -> AsyncIterator[ChangeBatch]:
    """What changed after `after_seq`, read from the table, a page at a time."""
    while True:
        changes = await queries.executions_changed_since(
            pool,
            after_seq,
            status=filters.status,
            user_id=filters.user_id,
            conversation_id=filters.conversation_id,
            limit=REPLAY_PAGE,
        )
        if changes:
            yield ChangeBatch.of([ExecutionChange(seq, data) for seq, data in changes])
            after_seq = changes[-1][0]
        if len(changes) < REPLAY_PAGE:
            return


def listener_event(state: str) -> bytes:
    return ServerSentEvent(data=json.dumps({"state": state}), event="listener").encode()


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
    pool: Pool,
    last_event_id: int | None,
) -> AsyncIterator[bytes]:
    # Subscribed here, not in the endpoint: a client gone before its stream
    # starts never leaves a subscriber behind.
    subscriber = broadcaster.subscribe(filters)
    try:
        yield listener_event(broadcaster.state)
        sent_up_to = 0
        if last_event_id is not None:
            # Subscribed first, then replayed: nothing falls in between.
            async for batch in replay(pool, last_event_id, subscriber.filters):
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
                    yield b"".join([*chunks, DROPPED_EVENT])
                    return
                if isinstance(item, ListenerState):
                    chunks.append(listener_event(item.state))
                else:
                    chunks.append(newer_than(item, sent_up_to))
            yield b"".join(chunks)
    finally:
        broadcaster.unsubscribe(subscriber)


@router.get(
    "/stream",
    summary="Live executions (Server-Sent Events)",
    dependencies=[Depends(require_stream_token)],
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
        401: {"model": ErrorDetail},
        422: {"model": ErrorDetail},
    },
    response_class=EventSourceResponse,
)
async def stream(
    request: Request,
    pool: Pool,
    status: StatusFilter = None,
    user_id: UserIdFilter = None,
    conversation_id: ConversationIdFilter = None,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=2**62, description="Resume after this event id")
    ] = None,
) -> EventSourceResponse:
    broadcaster: ExecutionBroadcaster = request.app.state.broadcaster
    return EventSourceResponse(
        stream_events(
            broadcaster, StreamFilters(status, user_id, conversation_id), pool, last_event_id
        ),
        ping=request.app.state.settings.stream_heartbeat_s,
        headers={"X-Accel-Buffering": "no"},
    )
