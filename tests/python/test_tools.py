"""Tool calling through aigw: the SDKs parse the provider's tool calls, streamed or not."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import ANTHROPIC_MODEL, MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS, expected_cost, log_id_of

MODEL = "gpt-4o-mini"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


def test_openai_tool_call_non_stream(gateway, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL]
    )
    completion = raw.parse()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {}

    row = gateway.log_row(log_id_of(raw.headers))
    assert row["success"] == 1 and row["stream"] == 0
    assert (row["tokens_in"], row["tokens_out"]) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )
    # The tools offered are in the stored request body.
    assert json.loads(gateway.payload(row["id"])["request"])["tools"] == [WEATHER_TOOL]


def test_openai_tool_call_stream_with_the_sdk_accumulator(gateway, openai_client):
    """`client.chat.completions.stream()` accumulates tool-call deltas into a final message."""
    # The helper does not expose response headers; the row is found by its event id.
    event_id = f"evt-tools-{uuid.uuid4()}"
    with openai_client.chat.completions.stream(
        model=MODEL,
        messages=MESSAGES,
        tools=[WEATHER_TOOL],
        extra_headers={"cf-aig-event-id": event_id},
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()

    assert "tool_calls.function.arguments.done" in events
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert call.function.arguments == "{}"

    (row,) = gateway.rows_where("event_id = ?", (event_id,))
    assert row["stream"] == 1 and row["success"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS)


def test_openai_tool_call_stream_raw_chunks(gateway, openai_client):
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL], stream=True
    ) as response:
        log_id = log_id_of(response.headers)
        chunks = list(response.parse())

    name = "".join(
        tc.function.name or ""
        for c in chunks
        for tc in (c.choices[0].delta.tool_calls or [])
        if tc.function
    )
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        for tc in (c.choices[0].delta.tool_calls or [])
        if tc.function
    )
    assert name == "get_weather"
    assert json.loads(arguments) == {}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(c.usage is None for c in chunks)

    row = gateway.log_row(log_id)
    assert (row["tokens_in"], row["tokens_out"]) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS)
    assert row["cost"] == pytest.approx(
        expected_cost("openai", MODEL, MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS), rel=1e-12
    )


def test_anthropic_tool_use_non_stream_and_stream(gateway, anthropic_client):
    tool = {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    kwargs = dict(
        model=ANTHROPIC_MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[tool],
    )
    raw = anthropic_client.messages.with_raw_response.create(**kwargs)
    message = raw.parse()
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert block.type == "tool_use" and block.name == "get_weather" and block.input == {}
    row = gateway.log_row(log_id_of(raw.headers))
    assert row["provider"] == "anthropic" and row["success"] == 1

    with anthropic_client.messages.stream(**kwargs) as stream:
        final = stream.get_final_message()
        log_id = log_id_of(stream.response.headers)
    assert final.stop_reason == "tool_use"
    (block,) = final.content
    assert block.type == "tool_use" and block.name == "get_weather" and block.input == {}
    row = gateway.log_row(log_id)
    assert row["stream"] == 1 and row["success"] == 1
    assert (row["tokens_in"], row["tokens_out"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )
