"""Database errors to HTTP answers, in one place.

The SQL functions check their inputs and raise `invalid_parameter_value` with a
message that says what was wrong: that is the client's mistake (422). A
database that cannot be reached is 503. Nothing here answers 500."""

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


async def invalid_parameter(_: Request, error: Exception) -> JSONResponse:
    message = getattr(error, "message", None) or str(error)
    return JSONResponse({"detail": message}, status_code=422)


async def database_unavailable(_: Request, error: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", error)
    return JSONResponse({"detail": "database unavailable, try again shortly"}, status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(asyncpg.InvalidParameterValueError, invalid_parameter)
    # Text PostgreSQL cannot take (a NUL byte in a filter or an id) is the
    # client's mistake as well.
    app.add_exception_handler(asyncpg.CharacterNotInRepertoireError, invalid_parameter)
    for error_type in UNAVAILABLE:
        app.add_exception_handler(error_type, database_unavailable)
