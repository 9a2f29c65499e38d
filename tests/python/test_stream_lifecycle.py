"""What the log says about streams that take time, break, or are abandoned by the caller, and
about the per-request `cf-aig-*` options a caller can set."""

from __future__ import annotations

import json
import time
import uuid

import openai
import pytest

from conftest import MOCK_TEXT, expected_cost, log_id_of

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_stream_duration_covers_the_whole_stream(gateway, openai_client):
    before_ms = int(time.time() * 1000)
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-mock-chunks": "4", "x-mock-chunk-delay-ms": "60"},
    ) as response:
        log_id = log_id_of(response.headers)
        raw = b"".join(response.iter_bytes())  # read to the very end of the body
    after_ms = int(time.time() * 1000)
    assert raw.rstrip().endswith(b"data: [DONE]")

    row = gateway.log_row(log_id)
    # Every event after the first is delayed 60 ms: the logged duration is the stream's, not
    # the time to the response headers.
    assert row["duration"] >= 300
    assert row["duration"] <= after_ms - before_ms
    assert before_ms <= row["created_at"] <= after_ms
    assert row["success"] == 1 and row["error"] is None
    assert (row["tokens_in"], row["tokens_out"]) == (10, 5)


def test_stream_the_sdk_stops_reading_at_done_is_a_success(gateway, openai_client):
    """The openai SDK stops at `data: [DONE]` and closes the response. When the provider ends
    its body a little after its last event (here 60 ms: the mock paces the end of the body like
    every event), the caller has still received the whole answer, its usage was seen, and
    nothing failed: the log must not call this exchange failed."""
    stream = openai_client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-mock-chunks": "4", "x-mock-chunk-delay-ms": "60"},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"

    # The SDK closed the connection early, so the record may land after this flush: wait for it.
    (row,) = gateway.wait_rows("id = ?", (log_id_of(stream.response.headers),))
    assert (row["tokens_in"], row["tokens_out"]) == (10, 5)
    assert row["usage_source"] == "provider"
    assert (row["success"], row["error"]) == (1, None), (
        "a stream the caller received completely, [DONE] included, is logged as failed"
    )


def test_provider_stream_that_breaks_is_logged_as_failed(gateway, openai_client):
    event_id = f"evt-abort-{uuid.uuid4()}"
    received: list[str] = []
    with pytest.raises(openai.APIError) as info:  # the SDK's error for a broken connection
        stream = openai_client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-mock-abort-after": "2", "cf-aig-event-id": event_id},
        )
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    assert not isinstance(info.value, openai.APIStatusError), "the status was 200; the body broke"
    assert "".join(received) != MOCK_TEXT

    (row,) = gateway.rows_where("event_id = ?", (event_id,))
    assert row["status_code"] == 200
    assert row["success"] == 0
    assert row["error"] and "stream" in row["error"]


def test_caller_abandoning_a_stream_is_logged(gateway, openai_client):
    event_id = f"evt-gone-{uuid.uuid4()}"
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        extra_headers={
            "x-mock-chunks": "50",
            "x-mock-chunk-delay-ms": "20",
            "cf-aig-event-id": event_id,
        },
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                break  # one event, then hang up
    (row,) = gateway.wait_rows("event_id = ?", (event_id,))
    assert row["success"] == 0
    assert "disconnected" in (row["error"] or "")
    assert row["usage_source"] == "missing"


def test_collect_log_false_keeps_the_request_out_of_the_log(gateway, openai_client):
    event_id = f"evt-nolog-{uuid.uuid4()}"
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=MESSAGES,
        extra_headers={"cf-aig-collect-log": "false", "cf-aig-event-id": event_id},
    )
    assert raw.parse().choices[0].message.content == MOCK_TEXT
    assert "cf-aig-log-id" not in raw.headers
    assert gateway.rows_where("event_id = ?", (event_id,)) == []


def test_collect_log_payload_false_keeps_the_row_without_bodies(gateway, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES, extra_headers={"cf-aig-collect-log-payload": "false"}
    )
    row = gateway.log_row(log_id_of(raw.headers))
    assert row["success"] == 1 and (row["tokens_in"], row["tokens_out"]) == (10, 5)
    assert row["request_size"] > 0 and row["response_size"] == len(raw.http_response.content)
    assert gateway.query(
        "SELECT count(*) AS n FROM log_payloads p JOIN logs l ON l.seq = p.seq "
        "WHERE l.id = ? AND (p.request IS NOT NULL OR p.response IS NOT NULL)",
        (row["id"],),
    ) == [{"n": 0}]


def test_custom_cost_replaces_the_price_table(gateway, openai_client):
    custom = {"per_token_in": 0.000003, "per_token_out": 0.000007}
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=MESSAGES,
        extra_headers={
            "cf-aig-custom-cost": json.dumps(custom),
            "x-mock-prompt-tokens": "100",
            "x-mock-completion-tokens": "20",
        },
    )
    row = gateway.log_row(log_id_of(raw.headers))
    assert row["custom_cost"] == 1
    assert row["cost"] == pytest.approx(100 * 0.000003 + 20 * 0.000007, rel=1e-12)
    assert row["cost"] != pytest.approx(expected_cost("openai", MODEL, 100, 20))


def test_unpriced_model_has_tokens_but_no_cost(gateway, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="mock-model-without-a-price", messages=MESSAGES
    )
    row = gateway.log_row(log_id_of(raw.headers))
    assert (row["tokens_in"], row["tokens_out"]) == (10, 5)
    assert row["cost"] is None
