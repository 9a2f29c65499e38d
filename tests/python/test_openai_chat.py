"""The official openai SDK, chat completions, through aigw to the mock provider."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import (
    MOCK_COMPLETION_TOKENS,
    MOCK_PROMPT_TOKENS,
    MOCK_TEXT,
    expected_cost,
    log_id_of,
)

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_chat_non_stream_is_answered_and_logged_field_by_field(gateway, openai_client):
    event_id = f"evt-{uuid.uuid4()}"
    metadata = {"user": "alice", "team": 7, "beta": True}
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=MESSAGES,
        extra_headers={
            "cf-aig-metadata": json.dumps(metadata),
            "cf-aig-event-id": event_id,
            "x-mock-prompt-tokens": "1200",
            "x-mock-completion-tokens": "34",
            "x-mock-cached-tokens": "200",
        },
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == MOCK_TEXT
    assert completion.model == MODEL
    assert completion.usage.prompt_tokens == 1200
    assert completion.usage.completion_tokens == 34
    assert completion.usage.prompt_tokens_details.cached_tokens == 200
    assert raw.headers.get("cf-aig-event-id") == event_id
    assert raw.headers.get("cf-aig-step") == "0"

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["account_id"] == "acct"
    assert row["gateway_id"] == "default"
    assert row["provider"] == "openai"
    assert row["model"] == MODEL
    assert row["model_type"] == "chat"
    assert row["path"] == "chat/completions"
    assert row["request_type"] == "provider"
    assert row["method"] == "POST"
    assert row["stream"] == 0
    assert row["status_code"] == 200
    assert row["success"] == 1
    assert row["cached"] == 0
    assert row["error"] is None
    assert row["tokens_in"] == completion.usage.prompt_tokens
    assert row["tokens_out"] == completion.usage.completion_tokens
    assert row["tokens_cached"] == 200
    assert row["tokens_cache_write"] == 0
    assert row["usage_source"] == "provider"
    want = expected_cost("openai", MODEL, 1200, 34, cached=200)
    assert want == pytest.approx((1000 * 1.0 + 200 * 0.5 + 34 * 2.0) / 1e6)
    assert row["cost"] == pytest.approx(want, rel=1e-12, abs=0)
    assert row["custom_cost"] == 0
    assert row["duration"] >= 0
    assert json.loads(row["metadata"]) == metadata
    assert row["event_id"] == event_id
    assert row["step"] == 0
    assert row["user_agent"].startswith("OpenAI/Python")
    assert row["request_content_type"].startswith("application/json")
    assert row["response_content_type"].startswith("application/json")
    assert row["source_kind"] == "direct"

    # The stored bodies are exactly what crossed the wire.
    body = gateway.payload(row["id"])
    request = json.loads(body["request"])
    assert request["model"] == MODEL
    assert request["messages"] == MESSAGES
    assert json.loads(body["response"]) == json.loads(raw.content)
    assert row["request_size"] == len(body["request"])
    assert row["response_size"] == len(raw.content)
    assert body["request_truncated"] is False and body["response_truncated"] is False


def test_chat_stream_without_usage_request_hides_usage_but_logs_it(gateway, openai_client):
    chunks_wanted = 4
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        extra_headers={
            "x-mock-chunks": str(chunks_wanted),
            "x-mock-prompt-tokens": "21",
            "x-mock-completion-tokens": "8",
        },
    ) as response:
        log_id = log_id_of(response.headers)
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.parse())

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    # aigw asked the provider for usage on the caller's behalf; the caller must not see it.
    assert all(c.choices for c in chunks), "a usage-only chunk (empty choices) reached the caller"
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"

    row = gateway.log_row(log_id)
    assert row["stream"] == 1
    assert row["status_code"] == 200 and row["success"] == 1
    assert row["usage_source"] == "provider"
    assert (row["tokens_in"], row["tokens_out"]) == (21, 8)
    assert row["cost"] == pytest.approx(expected_cost("openai", MODEL, 21, 8), rel=1e-12)
    assert row["response_content_type"].startswith("text/event-stream")


def test_chat_stream_without_usage_request_raw_bytes_have_no_usage(gateway, openai_client):
    """What the caller receives is byte-for-byte a stream without any `usage` member."""
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as response:
        raw = b"".join(response.iter_bytes())
    assert b'"usage"' not in raw
    events = [e for e in raw.split(b"\n\n") if e.strip()]
    assert events[-1].strip() == b"data: [DONE]"
    for event in events[:-1]:
        assert event.startswith(b"data: ")
        json.loads(event[len(b"data: ") :])


def test_chat_stream_with_include_usage_gives_the_caller_its_usage_chunk(gateway, openai_client):
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-prompt-tokens": "33", "x-mock-completion-tokens": "11"},
    ) as response:
        log_id = log_id_of(response.headers)
        chunks = list(response.parse())

    usage_chunks = [c for c in chunks if not c.choices]
    assert len(usage_chunks) == 1, "expected exactly one usage chunk"
    assert chunks[-1] is usage_chunks[0]
    usage = usage_chunks[0].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (33, 11)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT

    row = gateway.log_row(log_id)
    assert row["stream"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (usage.prompt_tokens, usage.completion_tokens)
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(expected_cost("openai", MODEL, 33, 11), rel=1e-12)


def test_chat_stream_plain_iteration_default_usage(gateway, openai_client):
    """`stream=True` without any raw-response wrapper, the way most applications call it."""
    stream = openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == MOCK_TEXT
    log_id = log_id_of(stream.response.headers)
    row = gateway.log_row(log_id)
    assert (row["tokens_in"], row["tokens_out"]) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS)
    assert row["user_agent"].startswith("OpenAI/Python")


def test_chat_stream_with_include_usage_false_gets_no_usage(gateway, openai_client):
    """An explicit `include_usage: false` is the caller's choice: no usage chunk reaches it."""
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": False},
    ) as response:
        log_id = log_id_of(response.headers)
        raw = b"".join(response.iter_bytes())
    assert b'"usage"' not in raw
    row = gateway.log_row(log_id)
    assert (row["tokens_in"], row["tokens_out"]) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS)
    # The stored request is the caller's, not the one aigw sent upstream.
    stored = json.loads(gateway.payload(log_id)["request"])
    assert stored["stream_options"] == {"include_usage": False}


@pytest.mark.parametrize("stream", [False, True])
def test_legacy_completions(gateway, openai_client, stream):
    headers = {"x-mock-prompt-tokens": "6", "x-mock-completion-tokens": "3"}
    if stream:
        with openai_client.completions.with_streaming_response.create(
            model=MODEL, prompt="Say hello.", stream=True, extra_headers=headers
        ) as response:
            log_id = log_id_of(response.headers)
            chunks = list(response.parse())
        assert "".join(c.choices[0].text for c in chunks if c.choices) == MOCK_TEXT
        assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    else:
        raw = openai_client.completions.with_raw_response.create(
            model=MODEL, prompt="Say hello.", extra_headers=headers
        )
        assert raw.parse().choices[0].text == MOCK_TEXT
        log_id = log_id_of(raw.headers)
    row = gateway.log_row(log_id)
    assert row["path"] == "completions"
    assert row["model_type"] == "completion"
    assert row["stream"] == int(stream)
    assert (row["tokens_in"], row["tokens_out"]) == (6, 3)
    assert row["cost"] == pytest.approx(expected_cost("openai", MODEL, 6, 3), rel=1e-12)


def test_models_list_passes_through(gateway, openai_client):
    raw = openai_client.models.with_raw_response.list()
    ids = [m.id for m in raw.parse()]
    assert "gpt-4o-mini" in ids
    row = gateway.log_row(log_id_of(raw.headers))
    assert (row["method"], row["path"], row["model_type"]) == ("GET", "models", "models")
    assert row["success"] == 1
    assert row["usage_source"] == "missing" and row["cost"] is None
