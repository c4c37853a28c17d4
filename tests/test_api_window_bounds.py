"""Window bounds at the edges of what a datetime holds, over HTTP.

asyncpg sends 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z as -infinity
and infinity; the stats, nodes, errors and threads reads then failed with
"cannot subtract infinite timestamps", a 500 (found while building the live
fuzz). Such a bound is a 422 saying the range, on every windowed read, and the
instants just inside it still answer."""

import httpx
import pytest

WINDOWED = [
    "/api/v1/monitoring/logs",
    "/api/v1/monitoring/logs/export",
    "/api/v1/monitoring/stats",
    "/api/v1/monitoring/nodes",
    "/api/v1/monitoring/errors",
    "/api/v1/monitoring/threads",
]
FIRST = "0001-01-01T00:00:00Z"
LAST = "9999-12-31T23:59:59.999999Z"


@pytest.mark.parametrize("path", WINDOWED)
@pytest.mark.parametrize(
    "params",
    [
        {"since": FIRST},
        {"until": LAST},
        {"since": FIRST, "until": LAST},
        {"since": "0001-01-01T01:00:00+01:00"},  # the first instant once in UTC
        {"since": LAST},
        {"until": FIRST},
    ],
)
async def test_a_bound_at_the_first_or_last_instant_is_422_saying_the_range(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    answer = await client.get(path, params=params)

    assert answer.status_code == 422, answer.text
    assert "must be after 0001-01-01T00:00:00+00:00 and before 9999-12-31" in answer.text


@pytest.mark.parametrize("path", WINDOWED)
async def test_bounds_just_inside_the_range_answer(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(
        path,
        params={"since": "0001-01-01T00:00:00.000001Z", "until": "9999-12-31T23:59:59.999998Z"},
    )

    assert answer.status_code == 200, answer.text
