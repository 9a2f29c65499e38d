"""The compat endpoint: the openai SDK talks to any provider with model "provider/model"."""

from __future__ import annotations

import json

import openai
import pytest

from conftest import CALLER_OPENAI_KEY, MOCK_TEXT, expected_cost, log_id_of

COMPAT_MODEL = "anthropic/claude-sonnet-4-20250514"
UPSTREAM_MODEL = "claude-sonnet-4-20250514"
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def compat_client(gateway):
    client = openai.OpenAI(base_url=gateway.base("compat"), api_key=CALLER_OPENAI_KEY, max_retries=0)
    yield client
    client.close()


def test_compat_chat_to_anthropic(gateway, compat_client):
    raw = compat_client.chat.completions.with_raw_response.create(
        model=COMPAT_MODEL,
        messages=MESSAGES,
        extra_headers={"x-mock-prompt-tokens": "25", "x-mock-completion-tokens": "7"},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == MOCK_TEXT
    # The provider saw (and answered for) the model without its provider prefix.
    assert completion.model == UPSTREAM_MODEL

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["provider"] == "anthropic"
    assert row["model"] == UPSTREAM_MODEL
    assert row["request_type"] == "compat"
    assert row["path"] == "chat/completions"
    assert row["model_type"] == "chat"
    assert row["status_code"] == 200 and row["success"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (25, 7)
    assert row["tokens_in"] == completion.usage.prompt_tokens
    assert row["usage_source"] == "provider"
    assert row["cost"] == pytest.approx(expected_cost("anthropic", UPSTREAM_MODEL, 25, 7), rel=1e-12)
    # The stored request is what the caller sent.
    assert json.loads(gateway.payload(row["id"])["request"])["model"] == COMPAT_MODEL


def test_compat_stream_to_anthropic(gateway, compat_client):
    with compat_client.chat.completions.with_streaming_response.create(
        model=COMPAT_MODEL,
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-mock-prompt-tokens": "14", "x-mock-completion-tokens": "4"},
    ) as response:
        log_id = log_id_of(response.headers)
        chunks = list(response.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT
    assert all(c.choices for c in chunks), "usage the caller did not ask for reached it"

    row = gateway.log_row(log_id)
    assert row["provider"] == "anthropic" and row["stream"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (14, 4)
    assert row["cost"] == pytest.approx(expected_cost("anthropic", UPSTREAM_MODEL, 14, 4), rel=1e-12)


def test_compat_to_openai(gateway, compat_client):
    raw = compat_client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == MOCK_TEXT
    row = gateway.log_row(log_id_of(raw.headers))
    assert (row["provider"], row["model"], row["request_type"]) == ("openai", "gpt-4o-mini", "compat")
    assert row["cost"] == pytest.approx(expected_cost("openai", "gpt-4o-mini", 10, 5), rel=1e-12)


def test_compat_model_without_provider_is_a_400(gateway, compat_client):
    with pytest.raises(openai.BadRequestError) as info:
        compat_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "provider/model" in info.value.message


def test_compat_unknown_provider_is_a_404(gateway, compat_client):
    with pytest.raises(openai.NotFoundError) as info:
        compat_client.chat.completions.create(model="nosuchprovider/some-model", messages=MESSAGES)
    assert "nosuchprovider" in info.value.message
