"""Provider errors, SDK retries, unknown gateways and gateway timeouts, as the SDKs see them."""

from __future__ import annotations

import json
import time
import uuid

import anthropic
import openai
import pytest

from conftest import ANTHROPIC_MODEL, CALLER_ANTHROPIC_KEY, CALLER_OPENAI_KEY, log_id_of

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def assert_failed_row(row: dict, status: int) -> None:
    assert row["status_code"] == status
    assert row["success"] == 0
    assert row["tokens_in"] is None and row["tokens_out"] is None
    assert row["usage_source"] == "missing"
    assert row["cost"] is None


def test_openai_rate_limit(gateway, openai_client):
    with pytest.raises(openai.RateLimitError) as info:
        openai_client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-mock-status": "429"}
        )
    err = info.value
    assert err.status_code == 429
    assert err.code == "rate_limit_exceeded"  # the provider's own error body, untouched
    row = gateway.log_row(log_id_of(err.response.headers))
    assert_failed_row(row, 429)
    assert row["provider"] == "openai" and row["model"] == MODEL
    stored = json.loads(gateway.payload(row["id"])["response"])
    assert stored["error"]["code"] == "rate_limit_exceeded"


def test_openai_rate_limit_stream(gateway, openai_client):
    with pytest.raises(openai.RateLimitError) as info:
        openai_client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-mock-status": "429"}
        )
    row = gateway.log_row(log_id_of(info.value.response.headers))
    assert_failed_row(row, 429)
    assert row["stream"] == 1


def test_anthropic_rate_limit(gateway, anthropic_client):
    with pytest.raises(anthropic.RateLimitError) as info:
        anthropic_client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=16,
            messages=MESSAGES,
            extra_headers={"x-mock-status": "429"},
        )
    err = info.value
    assert err.status_code == 429
    assert err.body["error"]["type"] == "rate_limit_error"
    row = gateway.log_row(log_id_of(err.response.headers))
    assert_failed_row(row, 429)
    assert row["provider"] == "anthropic"


def test_openai_sdk_retries_are_each_logged(gateway):
    """max_retries=2 and a 500: the SDK sends three requests; aigw logs three failed rows."""
    tag = f"retry-{uuid.uuid4()}"
    client = openai.OpenAI(base_url=gateway.base("openai"), api_key=CALLER_OPENAI_KEY, max_retries=2)
    try:
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                extra_headers={"x-mock-status": "500", "cf-aig-metadata": json.dumps({"tag": tag})},
            )
    finally:
        client.close()
    assert info.value.status_code == 500
    rows = gateway.rows_where("json_extract(metadata, '$.tag') = ?", (tag,))
    assert len(rows) == 3, [r["status_code"] for r in rows]
    assert all(r["status_code"] == 500 and r["success"] == 0 for r in rows)
    assert len({r["id"] for r in rows}) == 3
    # The error the SDK finally raised carries the id of the last attempt.
    assert log_id_of(info.value.response.headers) == rows[-1]["id"]


def test_unknown_gateway_is_a_not_found_naming_it(gateway):
    client = openai.OpenAI(
        base_url=gateway.base("openai", gateway="no-such-gateway"),
        api_key=CALLER_OPENAI_KEY,
        max_retries=0,
    )
    try:
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        client.close()
    assert "no-such-gateway" in info.value.message
    assert info.value.code == "unknown_gateway"
    # No gateway, no log: nothing is recorded under the unknown id.
    assert gateway.rows_where("gateway_id = ?", ("no-such-gateway",)) == []

    client = anthropic.Anthropic(
        base_url=gateway.base("anthropic", gateway="no-such-gateway"),
        api_key=CALLER_ANTHROPIC_KEY,
        max_retries=0,
    )
    try:
        with pytest.raises(anthropic.NotFoundError) as info:
            client.messages.create(model=ANTHROPIC_MODEL, max_tokens=16, messages=MESSAGES)
    finally:
        client.close()
    assert "no-such-gateway" in info.value.message
    assert info.value.body["error"]["type"] == "not_found_error"


def test_unknown_account_is_a_not_found(gateway):
    client = openai.OpenAI(
        base_url=gateway.base("openai", account="no-such-account"),
        api_key=CALLER_OPENAI_KEY,
        max_retries=0,
    )
    try:
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        client.close()
    assert "no-such-account" in info.value.message


def test_request_timeout_is_a_504_and_logged(gateway, openai_client):
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as info:
        openai_client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            extra_headers={"cf-aig-request-timeout": "50", "x-mock-delay-ms": "2000"},
        )
    elapsed = time.monotonic() - started
    err = info.value
    assert err.status_code == 504
    assert err.code == "upstream_timeout"
    assert elapsed < 1.8, f"the caller waited {elapsed:.2f}s for a 50 ms timeout"
    row = gateway.log_row(log_id_of(err.response.headers))
    assert_failed_row(row, 504)
    assert "50 ms" in row["error"]
    assert 50 <= row["duration"] < 1800


def test_request_timeout_anthropic_shape(gateway, anthropic_client):
    with pytest.raises(anthropic.InternalServerError) as info:
        anthropic_client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=16,
            messages=MESSAGES,
            extra_headers={"cf-aig-request-timeout": "50", "x-mock-delay-ms": "2000"},
        )
    err = info.value
    assert err.status_code == 504
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "timeout_error"
    row = gateway.log_row(log_id_of(err.response.headers))
    assert_failed_row(row, 504)
    assert row["provider"] == "anthropic"


def test_invalid_gateway_header_is_a_400_naming_it(gateway, openai_client):
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"cf-aig-metadata": "[1, 2]"}
        )
    assert "cf-aig-metadata" in info.value.message
    row = gateway.log_row(log_id_of(info.value.response.headers))
    assert_failed_row(row, 400)
    assert "cf-aig-metadata" in row["error"]
