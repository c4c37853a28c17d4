"""The app starts on a test database and answers a chat turn and a listing."""

import asyncio

import httpx

from tests.conftest import LiveServer


async def test_a_chat_turn_shows_up_in_the_listing(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/v1/chat/v2", json={"message": "Create a LinkedIn post about AI", "user_id": "u1"}
    )
    assert answer.status_code == 200
    execution_id = answer.json()["execution_id"]
    for _ in range(200):
        listing = (await client.get("/api/v1/monitoring/logs")).json()
        if listing["logs"] and listing["logs"][0]["status"] == "completed":
            break
        await asyncio.sleep(0.01)
    assert [log["id"] for log in listing["logs"]] == [execution_id]


async def test_a_real_server_serves_the_dashboard(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        page = await http.get("/")
        script = await http.get("/static/app.js")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert script.status_code == 200
