"""The official anthropic SDK, Messages API, through aigw: prompt-cache tokens and their cost."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import ANTHROPIC_MODEL, MOCK_TEXT, expected_cost, log_id_of

MESSAGES = [{"role": "user", "content": "Say hello."}]
CACHE_HEADERS = {
    "x-mock-prompt-tokens": "10",
    "x-mock-cache-read-tokens": "1000",
    "x-mock-cache-write-tokens": "200",
    "x-mock-completion-tokens": "50",
}
# Anthropic reports cache reads and writes beside input_tokens; aigw's tokens_in counts all.
TOKENS_IN = 10 + 1000 + 200
COST = expected_cost("anthropic", ANTHROPIC_MODEL, TOKENS_IN, 50, cached=1000, cache_write=200)


def test_cost_rule_sanity():
    # 10 plain at 3, 1000 cache reads at 0.5, 200 cache writes at 4, 50 out at 15 (per million).
    assert COST == pytest.approx((10 * 3 + 1000 * 0.5 + 200 * 4 + 50 * 15) / 1e6)


def test_messages_non_stream_with_prompt_cache(gateway, anthropic_client):
    metadata = {"feature": "summaries"}
    raw = anthropic_client.messages.with_raw_response.create(
        model=ANTHROPIC_MODEL,
        max_tokens=128,
        messages=MESSAGES,
        extra_headers={**CACHE_HEADERS, "cf-aig-metadata": json.dumps(metadata)},
    )
    message = raw.parse()
    assert message.content[0].type == "text"
    assert message.content[0].text == MOCK_TEXT
    assert message.stop_reason == "end_turn"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (10, 50)
    assert usage.cache_read_input_tokens == 1000
    assert usage.cache_creation_input_tokens == 200

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["provider"] == "anthropic"
    assert row["model"] == ANTHROPIC_MODEL
    assert row["model_type"] == "chat"
    assert row["path"] == "v1/messages"
    assert row["request_type"] == "provider"
    assert row["stream"] == 0
    assert row["status_code"] == 200 and row["success"] == 1
    assert row["tokens_in"] == (
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    )
    assert row["tokens_in"] == TOKENS_IN
    assert row["tokens_out"] == usage.output_tokens
    assert row["tokens_cached"] == 1000
    assert row["tokens_cache_write"] == 200
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(COST, rel=1e-12)
    assert json.loads(row["metadata"]) == metadata
    assert row["user_agent"].startswith("Anthropic/Python")
    assert json.loads(gateway.payload(row["id"])["response"]) == json.loads(raw.http_response.content)


def test_messages_stream_helper_and_final_message(gateway, anthropic_client):
    with anthropic_client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=128,
        messages=MESSAGES,
        extra_headers={**CACHE_HEADERS, "x-mock-chunks": "3"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        log_id = log_id_of(stream.response.headers)
    assert text == MOCK_TEXT
    assert final.content[0].text == MOCK_TEXT
    assert final.usage.output_tokens == 50
    assert final.usage.input_tokens == 10
    assert final.usage.cache_read_input_tokens == 1000
    assert final.usage.cache_creation_input_tokens == 200

    row = gateway.log_row(log_id)
    assert row["stream"] == 1
    assert row["status_code"] == 200 and row["success"] == 1
    assert row["response_content_type"].startswith("text/event-stream")
    assert (row["tokens_in"], row["tokens_out"]) == (TOKENS_IN, 50)
    assert (row["tokens_cached"], row["tokens_cache_write"]) == (1000, 200)
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(COST, rel=1e-12)


def test_messages_create_stream_events(gateway, anthropic_client):
    """`create(stream=True)`: the raw event iterator the SDK offers."""
    event_id = f"evt-anthropic-{uuid.uuid4()}"
    stream = anthropic_client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=128,
        messages=MESSAGES,
        stream=True,
        extra_headers={"cf-aig-event-id": event_id},
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(
        e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == MOCK_TEXT
    (row,) = gateway.rows_where("event_id = ?", (event_id,))
    assert (row["tokens_in"], row["tokens_out"]) == (10, 5)
    assert (row["tokens_cached"], row["tokens_cache_write"]) == (0, 0)
    assert row["cost"] == pytest.approx(expected_cost("anthropic", ANTHROPIC_MODEL, 10, 5), rel=1e-12)


def test_messages_count_tokens_passes_through(gateway, anthropic_client):
    """An endpoint the mock does not serve: the provider's 404 reaches the SDK and is logged."""
    import anthropic

    with pytest.raises(anthropic.NotFoundError) as info:
        anthropic_client.messages.count_tokens(model=ANTHROPIC_MODEL, messages=MESSAGES)
    row = gateway.log_row(log_id_of(info.value.response.headers))
    assert row["status_code"] == 404 and row["success"] == 0
    assert row["path"] == "v1/messages/count_tokens"
