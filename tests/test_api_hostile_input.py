"""Hostile input answers 4xx with a clear message, never 500: lone surrogates
(escaped in JSON), NaN, Infinity and 1e400 anywhere in a chat body or as the
whole body, and the same spirit in the monitoring endpoints' parameters. Every
answer is JSON that encodes, whatever it echoes."""

import json

import httpx
import pytest

CHAT = "/api/v1/chat/v2"
JSON = {"Content-Type": "application/json"}
FIELDS = ("message", "user_id", "conversation_id")
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")


def chat_body(field: str, raw_value: str) -> bytes:
    """A chat body with `field` set to `raw_value`, written as raw JSON text."""
    values = {"message": '"hello"', "user_id": '"u1"', "conversation_id": '"c1"'}
    values[field] = raw_value
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}").encode()


def assert_clear_4xx(answer: httpx.Response) -> list[dict[str, object]]:
    assert 400 <= answer.status_code < 500, answer.text
    body = json.loads(answer.content.decode("utf-8"))  # strict UTF-8: it encodes
    assert body["detail"]
    return body["detail"]


@pytest.mark.parametrize("field", FIELDS)
async def test_a_lone_surrogate_in_a_chat_field_is_422_invalid_json(
    client: httpx.AsyncClient, field: str
) -> None:
    answer = await client.post(CHAT, content=chat_body(field, '"a\\ud800b"'), headers=JSON)

    (error,) = assert_clear_4xx(answer)
    assert answer.status_code == 422
    assert "invalid JSON" in str(error["msg"]) and "surrogate" in str(error["msg"])


async def test_a_lone_surrogate_in_an_unknown_field_is_422(client: httpx.AsyncClient) -> None:
    body = b'{"message": "hi", "user_id": "u1", "\\udc00": "\\ud800"}'

    answer = await client.post(CHAT, content=body, headers=JSON)

    assert_clear_4xx(answer)
    assert answer.status_code == 422


@pytest.mark.parametrize("literal", NON_FINITE)
@pytest.mark.parametrize("field", FIELDS)
async def test_a_non_finite_number_in_a_chat_field_is_422_invalid_json(
    client: httpx.AsyncClient, field: str, literal: str
) -> None:
    answer = await client.post(CHAT, content=chat_body(field, literal), headers=JSON)

    (error,) = assert_clear_4xx(answer)
    assert answer.status_code == 422
    assert str(error["msg"]).startswith("invalid JSON")


@pytest.mark.parametrize("literal", NON_FINITE)
async def test_a_non_finite_number_as_the_whole_body_is_422(
    client: httpx.AsyncClient, literal: str
) -> None:
    answer = await client.post(CHAT, content=literal.encode(), headers=JSON)

    assert_clear_4xx(answer)
    assert answer.status_code == 422


async def test_a_number_in_a_text_field_is_422_and_echoes_it(client: httpx.AsyncClient) -> None:
    answer = await client.post(CHAT, content=chat_body("user_id", "1e300"), headers=JSON)

    (error,) = assert_clear_4xx(answer)
    assert error["loc"] == ["body", "user_id"] and error["input"] == 1e300


async def test_a_valid_surrogate_pair_is_accepted(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        CHAT, content=chat_body("message", '"hi \\ud83d\\ude00"'), headers=JSON
    )

    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/monitoring/logs", "limit=NaN"),
        ("/api/v1/monitoring/logs", "offset=1e400"),
        ("/api/v1/monitoring/logs", "hours=Infinity"),
        ("/api/v1/monitoring/logs", "status=%ED%A0%80"),
        ("/api/v1/monitoring/stats", "hours=NaN"),
        ("/api/v1/monitoring/nodes", "hours=-Infinity"),
        ("/api/v1/monitoring/conversations/c1/logs", "limit=1e400"),
    ],
)
async def test_non_finite_or_undecodable_monitoring_parameters_are_422(
    client: httpx.AsyncClient, path: str, query: str
) -> None:
    answer = await client.get(f"{path}?{query}")

    assert_clear_4xx(answer)
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/monitoring/logs?user_id=%ED%A0%80",
        "/api/v1/monitoring/logs?q=%ED%A0%80%00",
        "/api/v1/monitoring/logs/%ED%A0%80",
        "/api/v1/monitoring/conversations/%ED%A0%80/logs",
    ],
)
async def test_undecodable_text_in_monitoring_urls_never_answers_5xx(
    client: httpx.AsyncClient, url: str
) -> None:
    answer = await client.get(url)

    assert answer.status_code < 500
    json.loads(answer.content.decode("utf-8"))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400", "\udc80"])
async def test_a_hostile_last_event_id_is_422(client: httpx.AsyncClient, value: str) -> None:
    header = value.encode("utf-8", "surrogateescape")

    answer = await client.get("/api/v1/monitoring/stream", headers={b"Last-Event-ID": header})

    assert_clear_4xx(answer)
    assert answer.status_code == 422


async def test_a_conversation_filter_as_long_as_the_column_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/api/v1/monitoring/logs", params={"conversation_id": "c" * 255})
    too_long = await client.get("/api/v1/monitoring/logs", params={"conversation_id": "c" * 256})

    assert (answer.status_code, too_long.status_code) == (200, 422)
