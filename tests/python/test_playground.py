"""The dashboard's Playground: the providers list, and chats sent through the real data plane as
the signed-in user, streamed or not, logged with source `playground`."""

from __future__ import annotations

import json
import uuid

import httpx

from conftest import GATEWAY_KEYS, MOCK_TEXT
from keys_support import ADMIN_TOKEN, keys_gw  # noqa: F401  (fixture)


def chat_url(keys_gw, gateway: str = "default") -> str:
    return f"{keys_gw.account_api}/ai-gateway/gateways/{gateway}/playground/chat/completions"


def test_providers_lists_the_configured_providers_and_their_priced_models(keys_gw):
    session = keys_gw.admin()
    r = session.call("GET", f"{keys_gw.account_api}/ai-gateway/providers")
    assert r.status_code == 200, r.text
    by_id = {p["id"]: p for p in r.json()["result"]}
    assert {"openai", "anthropic", "google-ai-studio"} <= set(by_id)
    assert "gpt-4o-mini" in by_id["openai"]["models"]
    assert by_id["openai"]["has_key"] is True
    assert by_id["anthropic"]["format"] == "anthropic"


def test_a_playground_chat_is_answered_and_logged_under_the_user(keys_gw):
    session = keys_gw.admin()
    marker = uuid.uuid4().hex
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {marker}"}]}
    r = session.call("POST", chat_url(keys_gw), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == MOCK_TEXT
    row = keys_gw.gw.log_row(r.headers["cf-aig-log-id"])
    assert (row["source_kind"], row["source_id"], row["source_name"]) == ("playground", session.user["id"], session.user["name"])
    assert row["request_type"] == "compat" and row["provider"] == "openai"

    seen = [x for x in keys_gw.received() if marker in x["body"]]
    assert len(seen) == 1
    assert seen[0]["headers"]["authorization"] == f"Bearer {GATEWAY_KEYS['OPENAI_API_KEY']}"
    assert "cookie" not in seen[0]["headers"] and "x-csrf-token" not in seen[0]["headers"]

    # Streamed: SSE straight from the provider, with the log id.
    with session.client.stream(
        "POST",
        chat_url(keys_gw),
        json={**body, "stream": True},
        headers={"X-CSRF-Token": session.csrf, "Accept": "text/event-stream"},
    ) as s:
        assert s.status_code == 200
        assert s.headers["content-type"].startswith("text/event-stream")
        log_id = s.headers["cf-aig-log-id"]
        text = ""
        for line in s.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:]).get("choices", []):
                    text += choice["delta"].get("content") or ""
    assert text == MOCK_TEXT
    row = keys_gw.gw.log_row(log_id)
    assert row["source_kind"] == "playground" and row["stream"] == 1 and row["tokens_out"] is not None

    usage = session.call("GET", f"{keys_gw.account_api}/ai-gateway/me/usage").json()["result"]
    assert usage["playground"]["total"]["requests"] >= 2


def test_the_playground_is_for_signed_in_users_and_checks_its_input(keys_gw):
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(chat_url(keys_gw), json=body).status_code == 401
    r = httpx.post(chat_url(keys_gw), json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 403
    session = keys_gw.admin()
    assert session.call("POST", chat_url(keys_gw), csrf=False, json=body).status_code == 403
    r = session.call("POST", chat_url(keys_gw), json={**body, "model": "gpt-4o-mini"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 7001
    r = session.call("POST", chat_url(keys_gw, "no-such-gateway"), json=body)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_gateway"
    # A provider aigw does not know: the data plane's answer, in the OpenAI shape.
    r = session.call("POST", chat_url(keys_gw), json={**body, "model": "nope/some-model"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_provider"
