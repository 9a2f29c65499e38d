"""Embeddings and the Responses API with the openai SDK: answers parse, tokens are logged."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import MOCK_TEXT, expected_cost, log_id_of

CHAT_MODEL = "gpt-4o-mini"
EMBED_MODEL = "text-embedding-3-small"


@pytest.mark.parametrize("encoding_format", ["float", None])
def test_embeddings(gateway, openai_client, encoding_format):
    kwargs = {"encoding_format": encoding_format} if encoding_format else {}
    raw = openai_client.embeddings.with_raw_response.create(
        model=EMBED_MODEL,
        input=["first text", "second text"],
        extra_headers={"x-mock-prompt-tokens": "17"},
        **kwargs,
    )
    result = raw.parse()
    assert [e.index for e in result.data] == [0, 1]
    assert result.data[0].embedding == pytest.approx([0.1, 0.2, 0.3])
    assert result.usage.prompt_tokens == 17

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["provider"] == "openai"
    assert row["model"] == EMBED_MODEL
    assert row["model_type"] == "embedding"
    assert row["path"] == "embeddings"
    assert row["status_code"] == 200 and row["success"] == 1 and row["stream"] == 0
    assert row["tokens_in"] == result.usage.prompt_tokens
    assert row["tokens_out"] == 0
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(expected_cost("openai", EMBED_MODEL, 17, 0), rel=1e-12)


def test_responses_non_stream(gateway, openai_client):
    raw = openai_client.responses.with_raw_response.create(
        model=CHAT_MODEL,
        input="Say hello.",
        extra_headers={
            "x-mock-prompt-tokens": "40",
            "x-mock-completion-tokens": "9",
            "x-mock-cached-tokens": "16",
        },
    )
    response = raw.parse()
    assert response.output_text == MOCK_TEXT
    assert response.usage.input_tokens == 40
    assert response.usage.output_tokens == 9

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["path"] == "responses"
    assert row["model"] == CHAT_MODEL
    assert row["model_type"] == "chat"
    assert row["stream"] == 0 and row["success"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (40, 9)
    assert row["tokens_cached"] == 16
    assert row["cost"] == pytest.approx(
        expected_cost("openai", CHAT_MODEL, 40, 9, cached=16), rel=1e-12
    )
    assert json.loads(gateway.payload(row["id"])["request"])["input"] == "Say hello."


def test_responses_stream_create(gateway, openai_client):
    with openai_client.responses.with_streaming_response.create(
        model=CHAT_MODEL,
        input="Say hello.",
        stream=True,
        extra_headers={"x-mock-prompt-tokens": "12", "x-mock-completion-tokens": "6"},
    ) as response:
        log_id = log_id_of(response.headers)
        events = list(response.parse())

    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == MOCK_TEXT
    completed = events[-1]
    assert completed.type == "response.completed"
    assert (completed.response.usage.input_tokens, completed.response.usage.output_tokens) == (12, 6)

    row = gateway.log_row(log_id)
    assert row["stream"] == 1 and row["success"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (12, 6)
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(expected_cost("openai", CHAT_MODEL, 12, 6), rel=1e-12)


def test_responses_stream_helper(gateway, openai_client):
    """`client.responses.stream()` and `get_final_response()`; the row is found by event id."""
    event_id = f"evt-responses-{uuid.uuid4()}"
    with openai_client.responses.stream(
        model=CHAT_MODEL,
        input="Say hello.",
        extra_headers={"cf-aig-event-id": event_id, "x-mock-completion-tokens": "3"},
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == MOCK_TEXT
    assert final.output_text == MOCK_TEXT

    (row,) = gateway.rows_where("event_id = ?", (event_id,))
    assert row["stream"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )
    assert row["tokens_out"] == 3
