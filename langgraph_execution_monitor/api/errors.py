"""Errors to HTTP answers for the monitor's routes, in one place.

`MonitoringRoute` is the route class of every router the library makes, so
the mapping applies to those routes only (a host's own routes keep their own
handlers; an `OSError` in a host's route is not "database unavailable"):

- request bodies are parsed strictly (orjson: no `NaN`, `Infinity`, numbers
  out of range, lone surrogates), so such a body is a 422 "invalid JSON";
- a 422 always encodes, whatever the input it echoes (lone surrogates and
  non-finite numbers are shown escaped);
- the SQL functions check their inputs and raise `invalid_parameter_value` with
  a message saying what was wrong: 422;
- a database that cannot be reached, is too slow (statement timeout), refuses
  for lack of a privilege or a schema object, or leaves the client in a broken
  state (asyncpg's `InternalClientError`): 503.

Nothing here answers 500. `StrictJSONRoute` (the first two points alone) is
for a host's own routes with JSON bodies, such as the demo app's chat.
"""

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from langgraph_execution_monitor.api.security import api_headers

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)

# SQLSTATE classes and codes that mean "the service cannot answer now" rather
# than "the request was wrong": 08 connection, 53 resources, 57 operator
# intervention (57014: statement timeout), 55P03 lock timeout, 42501 missing
# privilege, 42883/42P01 missing function/table (a schema not migrated),
# 40001/40P01 a read on a hot standby cancelled by a conflict with replay.
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58")
UNAVAILABLE_SQLSTATES = (
    "55P03",
    "42501",
    "42883",
    "42P01",
    "3D000",
    "28000",
    "28P01",
    "40001",
    "40P01",
)
CLIENT_SQLSTATES = ("22023", "22021", "22P05")  # invalid parameter, bad text


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())  # raises JSONDecodeError
        return self._json


def _encodable(value: Any) -> Any:
    """`value` with every string valid UTF-8 and every float finite."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {_encodable(str(k)): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    return _encodable(str(value))


def validation_error_response(error: RequestValidationError) -> JSONResponse:
    details = []
    for item in error.errors():
        item = dict(item)
        if item.get("type") == "json_invalid":
            reason = (item.get("ctx") or {}).get("error", "")
            item["msg"] = f"invalid JSON: {reason}" if reason else "invalid JSON"
        item.pop("url", None)
        details.append(_encodable(item))
    return JSONResponse({"detail": details}, status_code=422)


def database_error_response(error: Exception) -> JSONResponse | None:
    """The answer for a database error, or None when it is not one."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    if isinstance(error, asyncpg.PostgresError) and sqlstate in CLIENT_SQLSTATES:
        message = getattr(error, "message", None) or str(error)
        return JSONResponse({"detail": message}, status_code=422)
    if isinstance(error, asyncpg.QueryCanceledError):
        logger.warning("read cancelled (statement timeout): %s", error)
        return unavailable("the database is too slow to answer right now, try again shortly")
    if isinstance(error, UNAVAILABLE) or (
        isinstance(error, asyncpg.PostgresError)
        and (sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in UNAVAILABLE_SQLSTATES)
    ):
        level = logging.ERROR if sqlstate.startswith("42") else logging.WARNING
        logger.log(level, "database unavailable: %s: %s", type(error).__name__, error)
        return unavailable("database unavailable, try again shortly")
    return None


def unavailable(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=503, headers={"Retry-After": "5"})


Handler = Callable[[Request], Awaitable[Response]]


class StrictJSONRoute(APIRoute):
    """Strict JSON bodies, and 422 answers that always encode."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            try:
                return await handler(StrictJSONRequest(request.scope, request.receive))
            except RequestValidationError as error:
                return validation_error_response(error)

        return strict_handler


class MonitoringRoute(APIRoute):
    """`StrictJSONRoute`, database errors mapped, and the API's security
    headers on every answer."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def monitoring_handler(request: Request) -> Response:
            try:
                response = await handler(StrictJSONRequest(request.scope, request.receive))
            except RequestValidationError as error:
                response = validation_error_response(error)
            except Exception as error:
                mapped = database_error_response(error)
                if mapped is None:
                    raise
                response = mapped
            for name, value in api_headers().items():
                response.headers.setdefault(name, value)
            return response

        return monitoring_handler
