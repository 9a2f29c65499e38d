"""The dashboard's readers of stored payloads and its formats, run in the browser as the page
runs them (the modules are imported from aigw's own `/assets/`), over the formats the seeded
logs do not cover: content parts, tool calls, Gemini, the Responses API, every stream format."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page


@pytest.fixture
def modules(page: Page, dashboard):
    page.goto("/")  # any page of the origin: the modules are public, the API is not touched

    def run(module: str, expression: str, *args):
        return page.evaluate(
            f"async (args) => {{ const m = await import('/assets/{module}'); return ({expression}); }}",
            list(args),
        )

    return run


def conversation(modules, body, path="chat/completions"):
    return modules("bodies.js", "m.conversation(args[0], args[1])", body, path)


def test_requests_become_conversations(modules):
    openai_parts = {
        "messages": [
            {"role": "developer", "content": "Rules."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "x"}}]},
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "look", "arguments": '{"at":1}'}}]},
            {"role": "tool", "content": "a cat"},
        ]
    }
    assert conversation(modules, openai_parts) == [
        {"role": "developer", "text": "Rules."},
        {"role": "user", "text": "What is this?\n[image]"},
        {"role": "assistant", "text": '→ look({"at":1})'},
        {"role": "tool", "text": "a cat"},
    ]
    gemini = {
        "systemInstruction": {"parts": [{"text": "Be kind."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}, {"role": "model", "parts": [{"text": "Hello"}]}],
    }
    assert conversation(modules, gemini, "v1beta/models/gemini-2.0-flash:generateContent") == [
        {"role": "system", "text": "Be kind."},
        {"role": "user", "text": "Hi"},
        {"role": "model", "text": "Hello"},
    ]
    responses = {"model": "gpt-4o", "instructions": "Short.", "input": "Why?"}
    assert conversation(modules, responses, "responses") == [
        {"role": "system", "text": "Short."},
        {"role": "user", "text": "Why?"},
    ]
    # Not chat: formatted JSON instead.
    assert conversation(modules, {"model": "e", "input": "embed me"}, "embeddings") is None
    assert conversation(modules, {"model": "m", "prompt": "Once upon"}, "completions") is None
    assert conversation(modules, {"messages": [{"content": "no role"}]}) is None


def sse(*events) -> str:
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def test_responses_become_their_text(modules):
    def view(text, content_type="application/json"):
        return modules("bodies.js", "m.responseView(args[0], args[1])", text, content_type)

    openai_stream = sse({"choices": [{"delta": {"content": "Hel"}}]}, {"choices": [{"delta": {"content": "lo"}}]})
    assert view(openai_stream, "text/event-stream")["text"] == "Hello"
    anthropic_stream = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Ahoy"}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert view(anthropic_stream, "text/event-stream")["text"] == "Ahoy"
    gemini = {"candidates": [{"content": {"parts": [{"text": "Hi "}, {"text": "there"}]}}]}
    assert view(json.dumps(gemini))["text"] == "Hi there"
    responses = {"object": "response", "output": [{"type": "message", "content": [{"type": "output_text", "text": "Done."}]}]}
    assert view(json.dumps(responses))["text"] == "Done."
    anthropic = {"type": "message", "content": [{"type": "text", "text": "Arr."}]}
    assert view(json.dumps(anthropic))["text"] == "Arr."
    embeddings = {"object": "list", "data": [{"embedding": [0.1]}]}
    assert json.loads(view(json.dumps(embeddings))["json"]) == embeddings
    assert view("plain words", "text/plain") == {"raw": "plain words"}


def test_formats(modules):
    fmt = lambda expr, *args: modules("format.js", expr, *args)  # noqa: E731
    assert fmt("m.cost(args[0])", 0.00002) == "$0.000020"
    assert fmt("m.cost(args[0])", None) == "—"
    assert fmt("m.totalTokens({tokens_in: 10, tokens_out: 5})") == 15
    assert fmt("m.totalTokens({tokens_in: null, tokens_out: null})") is None
    now = "new Date(2026, 2, 16, 9, 0)"
    assert fmt(f"m.dayLabel(new Date(2026, 2, 16, 0, 1), {now})") == "Today"
    assert fmt(f"m.dayLabel(new Date(2026, 2, 15, 23, 59), {now})") == "Yesterday"
    assert fmt(f"m.dayLabel(new Date(2026, 2, 14, 12), {now})") == "Mar 14"
    assert fmt(f"m.dayLabel(new Date(2025, 11, 31, 12), {now})") == "Dec 31, 2025"
    # Across a month's end.
    assert fmt("m.dayLabel(new Date(2026, 1, 28, 12), new Date(2026, 2, 1, 8))") == "Yesterday"
    assert fmt("m.duration(1234)") == "1,234 ms"
