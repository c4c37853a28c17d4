"""POST /api/v1/chat/v2: the demo agent's answer, its monitored row, and the
422s and 413s of bad or oversized bodies (by Content-Length and chunked)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.api.main import create_app
from app.config import Settings
from app.services.chat import APOLOGY
from tests.conftest import LiveServer

CHAT = "/api/v1/chat/v2"
JSON = {"content-type": "application/json"}
NONE_GET = "'NoneType' object has no attribute 'get'"


async def finished_row(client: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
    """The execution's row once the background writer has written its finish."""
    deadline = time.monotonic() + 10
    while True:
        answer = await client.get(f"/api/v1/monitoring/logs/{execution_id}")
        if answer.status_code == 200 and answer.json()["status"] != "running":
            return answer.json()
        assert time.monotonic() < deadline, f"{execution_id} not finished in the log"
        await asyncio.sleep(0.02)


async def test_a_chat_turn_answers_and_is_logged_as_completed(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        CHAT, json={"message": "Create a LinkedIn post about AI", "user_id": "dev-user-001"}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "execution_id",
        "conversation_id",
        "status",
        "response",
        "failed_nodes",
        "error_summary",
    }
    assert body["status"] == "completed" and "LinkedIn" in body["response"]
    row = await finished_row(client, body["execution_id"])
    assert row["status"] == "completed"
    assert row["user_id"] == "dev-user-001"
    assert row["request_message"] == "Create a LinkedIn post about AI"
    assert row["response_message"] == body["response"]
    assert row["conversation_id"] == body["conversation_id"]
    assert row["execution_trace"][0]["node"] == "guardrail_check"


async def test_a_caught_node_error_gives_a_partial_answer_and_row(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        CHAT, json={"message": "Create a LinkedIn and Twitter post about AI", "user_id": "u1"}
    )

    body = answer.json()
    assert body["status"] == "partial"
    assert body["failed_nodes"] == ["multi_platform_orchestrator"]
    assert "I wasn't able to generate the Twitter post" in body["response"]
    row = await finished_row(client, body["execution_id"])
    assert row["status"] == "partial"
    assert row["failed_nodes"] == ["multi_platform_orchestrator"]
    assert row["error_summary"] == NONE_GET


async def test_a_raising_node_gives_an_apology_and_a_failed_row(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        CHAT, json={"message": "Create a post about AI (missing profile)", "user_id": "u1"}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "failed" and body["response"] == APOLOGY
    row = await finished_row(client, body["execution_id"])
    assert row["status"] == "failed"
    assert row["failed_nodes"] == ["data_checker"]
    assert row["error_summary"] == NONE_GET
    failed = [entry for entry in row["execution_trace"] if entry["status"] == "failed"]
    assert failed[0]["node"] == "data_checker" and failed[0]["error"] == NONE_GET


async def test_turns_with_one_conversation_id_are_that_conversations_logs(
    client: httpx.AsyncClient,
) -> None:
    ids = []
    for message in ("hello", "Create a LinkedIn post about AI"):
        body = (
            await client.post(
                CHAT, json={"message": message, "user_id": "u1", "conversation_id": "conv-456"}
            )
        ).json()
        assert body["conversation_id"] == "conv-456"
        ids.append(body["execution_id"])
        await finished_row(client, body["execution_id"])

    logs = (await client.get("/api/v1/monitoring/conversations/conv-456/logs")).json()

    assert [row["id"] for row in logs["logs"]] == ids


async def test_a_turn_without_a_conversation_id_starts_a_new_conversation(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.post(CHAT, json={"message": "hi", "user_id": "u1"})).json()
    second = (await client.post(CHAT, json={"message": "hi", "user_id": "u1"})).json()

    assert first["conversation_id"] and first["conversation_id"] != second["conversation_id"]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"user_id": "u1"}, "message"),
        ({"message": "hi"}, "user_id"),
        ({"message": "", "user_id": "u1"}, "message"),
        ({"message": "hi", "user_id": ""}, "user_id"),
        ({"message": "hi", "user_id": "u1", "extra": 1}, "extra"),
        ({"message": 42, "user_id": "u1"}, "message"),
        ({"message": "hi", "user_id": "u1", "conversation_id": "x" * 37}, "conversation_id"),
        ({"message": "x" * 32_001, "user_id": "u1"}, "message"),
        ([], "dict"),
    ],
    ids=[
        "missing-message",
        "missing-user-id",
        "empty-message",
        "empty-user-id",
        "extra-field",
        "message-not-a-string",
        "conversation-id-too-long",
        "message-too-long",
        "not-an-object",
    ],
)
async def test_an_invalid_chat_body_is_422_naming_the_problem(
    client: httpx.AsyncClient, body: Any, mentions: str
) -> None:
    answer = await client.post(CHAT, json=body)

    assert answer.status_code == 422
    assert mentions in answer.text


async def test_a_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.post(CHAT, content=b"{not json", headers=JSON)

    assert answer.status_code == 422


async def test_a_body_over_the_limit_by_content_length_is_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"message": "x" * 70_000, "user_id": "u1"}).encode()

    answer = await client.post(CHAT, content=body, headers=JSON)

    assert answer.status_code == 413
    assert "65536" in answer.json()["detail"]


async def chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    yield b'{"user_id": "u1", "message": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    answer = await client.post(CHAT, content=chunks(70_000), headers=JSON)

    assert answer.status_code == 413


async def test_a_chunked_body_over_the_limit_is_413_from_a_real_server(
    live_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        answer = await http.post(CHAT, content=chunks(70_000), headers=JSON)

    assert answer.status_code == 413


async def test_the_body_limit_is_the_chat_max_body_bytes_setting(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"chat_max_body_bytes": 2048}))
    under = json.dumps({"message": "x" * 1900, "user_id": "u1"})
    over = json.dumps({"message": "x" * 2100, "user_id": "u1"})
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        accepted = await http.post(CHAT, content=under, headers=JSON)
        refused = await http.post(CHAT, content=over, headers=JSON)

    assert accepted.status_code == 200
    assert refused.status_code == 413


async def test_a_body_that_is_not_utf8_is_422_invalid_json(client: httpx.AsyncClient) -> None:
    answer = await client.post(CHAT, content=b'{"message": "\xff\xfe"}', headers=JSON)

    assert answer.status_code == 422
    assert "invalid JSON" in answer.json()["detail"][0]["msg"]
