"""GET .../stream: executions as they start and finish, as Server-Sent Events.

Each `execution` event carries the listing row as data and its place in the
change order as id (`xid:seq`: the writing transaction's id and change_seq; an
integer id of an older release is accepted, see `parse_event_id`). A client
that reconnects with Last-Event-ID first gets what changed since
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
from fastapi.exceptions import RequestValidationError
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
from langgraph_execution_monitor.api.stream_response import StreamLink, StreamResponse
from langgraph_execution_monitor.live_events import (
    ChangeBatch,
    Dropped,
    ExecutionBroadcaster,
    ExecutionChange,
    ListenerState,
    Resume,
    StreamFilters,
    event_id,
    parse_event_id,
)
from langgraph_execution_monitor.storage.queries import ChangePosition

REPLAY_PAGE = 1000
EVENT_ID_PATTERN = r"^[0-9]{1,19}(:[0-9]{1,19})?$"  # `xid:seq`, or an older release's integer


class StreamTicket(BaseModel):
    ticket: str = Field(description="Pass as `?ticket=` to the stream, once")
    expires_in_s: float


async def replay(
    broadcaster: ExecutionBroadcaster, after: ChangePosition, filters: StreamFilters
) -> AsyncIterator[ChangeBatch]:
    """What changed after `after`, a page at a time."""
    while True:
        changes = await broadcaster.changes_since(after, filters, limit=REPLAY_PAGE)
        if changes:
            yield ChangeBatch.of([ExecutionChange(at, data) for at, data in changes])
            after = changes[-1][0]
        if len(changes) < REPLAY_PAGE:
            return


def listener_event(state: str) -> bytes:
    return ServerSentEvent(data=json.dumps({"state": state}), event="listener").encode()


def reset_event(latest: ChangePosition, reason: str | None) -> bytes:
    data = {"reason": f"{reason}; reload the listing", "latest": event_id(latest)}
    return ServerSentEvent(data=json.dumps(data), event="reset", id=event_id(latest)).encode()


DROPPED_EVENT = ServerSentEvent(
    data=json.dumps({"reason": "client too slow; reconnect to resume"}), event="dropped"
).encode()


def newer_than(batch: ChangeBatch, sent_up_to: ChangePosition) -> bytes:
    """The batch's events after `sent_up_to` (a replay may overlap the live queue)."""
    if batch.changes[0].position > sent_up_to:
        return batch.encoded
    return b"".join(c.encode() for c in batch.changes if c.position > sent_up_to)


async def stream_events(
    broadcaster: ExecutionBroadcaster,
    filters: StreamFilters,
    resume: Resume | None,
    link: StreamLink,
) -> AsyncIterator[bytes]:
    # Subscribed here, not in the endpoint: a client gone before its stream
    # starts never leaves a subscriber behind.
    subscriber = broadcaster.subscribe(filters)
    try:
        yield listener_event(broadcaster.state)
        sent_up_to = ChangePosition(0, 0)
        if resume is not None:
            # Subscribed first, then replayed: nothing falls in between.
            plan = await broadcaster.plan_replay(resume)
            if plan.reset:
                sent_up_to = plan.after
                yield reset_event(plan.after, plan.reason)
            else:
                sent_up_to = resume.after
                async for batch in replay(broadcaster, resume.after, subscriber.filters):
                    sent_up_to = batch.changes[-1].position
                    yield batch.encoded
        send_now = link.send_now

        def deliver_now(batch: ChangeBatch) -> bool:
            body = newer_than(batch, sent_up_to)
            return not body or (send_now is not None and send_now(body))

        while True:
            # Idle (what it took is sent, nothing queued): the fan-out may
            # write the next batches itself, until one is queued.
            if send_now is not None and subscriber.queue.empty():
                subscriber.deliver_now = deliver_now
            try:
                first = await subscriber.queue.get()
            finally:
                subscriber.deliver_now = None
            # Everything waiting goes out in one write.
            items = [first]
            while not subscriber.queue.empty():
                items.append(subscriber.queue.get_nowait())
            chunks: list[bytes] = []
            for item in items:
                subscriber.taken(item)
                if isinstance(item, Dropped):
                    link.dropped = True
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
            str | None,
            Header(
                pattern=EVENT_ID_PATTERN,
                description="Resume after this event id (`xid:seq`; an integer id of an "
                "older release is accepted)",
            ),
        ] = None,
    ) -> StreamResponse:
        resume: Resume | None = None
        if last_event_id is not None:
            try:
                resume = parse_event_id(last_event_id)
            except ValueError as error:  # past the pattern: a number out of range
                raise RequestValidationError(
                    [
                        {
                            "type": "value_error",
                            "loc": ("header", "last-event-id"),
                            "msg": str(error),
                            "input": last_event_id,
                        }
                    ]
                ) from error
        link = StreamLink()
        return StreamResponse(
            stream_events(
                monitor.broadcaster,
                StreamFilters(status, user_id, conversation_id),
                resume,
                link,
            ),
            link=link,
            stats=monitor.broadcaster.stats,
            ping=heartbeat_s,
            send_timeout=send_timeout_s,
        )
