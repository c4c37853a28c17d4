"""Small dependencies: the request pool, the token check, shared filters."""

import secrets
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Query, Request, status

from langgraph_execution_monitor.api.schemas import NO_NUL, Status


def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _token_matches(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def require_token(request: Request) -> None:
    """401 unless the configured token came as `Authorization: Bearer ...`."""
    expected = request.app.state.settings.monitoring_api_token
    if expected and not _token_matches(_bearer(request), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_stream_token(
    request: Request,
    access_token: Annotated[
        str | None, Query(description="The token, for clients (EventSource) without headers")
    ] = None,
) -> None:
    """Like `require_token`, also accepting `?access_token=` (a browser's
    EventSource cannot send headers)."""
    expected = request.app.state.settings.monitoring_api_token
    if expected and not (
        _token_matches(_bearer(request), expected) or _token_matches(access_token, expected)
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong token",
            headers={"WWW-Authenticate": "Bearer"},
        )


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]

# Filters shared by the listing and the stream (one definition, one documentation).
StatusFilter = Annotated[Status | None, Query(description="Only this status")]
UserIdFilter = Annotated[str | None, Query(min_length=1, max_length=255, pattern=NO_NUL)]
ConversationIdFilter = Annotated[str | None, Query(min_length=1, max_length=36, pattern=NO_NUL)]
Authorized = Depends(require_token)
