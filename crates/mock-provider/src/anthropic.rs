//! Anthropic Messages: POST `.../messages`.

use serde_json::{json, Value};

use crate::reply::{sse_event, Call, Reply};

const TOOL_USE_ID: &str = "toolu_mock";

pub(crate) fn messages(call: &Call<'_>) -> Reply {
    if call.stream() {
        messages_stream(call)
    } else {
        messages_json(call)
    }
}

/// The answer's one content block and its stop reason.
fn content(call: &Call<'_>) -> (Value, &'static str) {
    match call.first_tool() {
        Some(name) => (json!({"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {}}), "tool_use"),
        None => (json!({"type": "text", "text": call.controls.text()}), "end_turn"),
    }
}

/// The message envelope, with `output_tokens` as given.
fn message(call: &Call<'_>, content: Value, stop_reason: Value, output_tokens: u64) -> Value {
    let u = &call.controls.usage;
    json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": call.model(),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": u.prompt,
            "cache_creation_input_tokens": u.cache_write,
            "cache_read_input_tokens": u.cache_read,
            "output_tokens": output_tokens,
        },
    })
}

fn messages_json(call: &Call<'_>) -> Reply {
    let (block, stop_reason) = content(call);
    let completion = call.controls.usage.completion;
    Reply::json(&message(call, json!([block]), Value::from(stop_reason), completion))
}

fn messages_stream(call: &Call<'_>) -> Reply {
    let (block, stop_reason) = content(call);
    let mut events = Vec::new();
    let mut push = |kind: &str, data: Value| events.push(sse_event(kind, &data));

    // Anthropic reports output_tokens 1 at the start and the real count in message_delta.
    let start = message(call, json!([]), Value::Null, 1);
    push("message_start", json!({"type": "message_start", "message": start}));
    let (opening, deltas) = match call.first_tool() {
        Some(_) => (
            json!({"type": "tool_use", "id": TOOL_USE_ID, "name": block["name"], "input": {}}),
            vec![json!({"type": "input_json_delta", "partial_json": "{}"})],
        ),
        None => (
            json!({"type": "text", "text": ""}),
            call.controls.pieces().into_iter().map(|piece| json!({"type": "text_delta", "text": piece})).collect(),
        ),
    };
    push("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": opening}));
    push("ping", json!({"type": "ping"}));
    for delta in deltas {
        push("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": delta}));
    }
    push("content_block_stop", json!({"type": "content_block_stop", "index": 0}));
    push(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": call.controls.usage.completion},
        }),
    );
    push("message_stop", json!({"type": "message_stop"}));
    Reply::sse(events)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use crate::control::Controls;

    #[test]
    fn tool_use_block_when_tools_are_offered() {
        let controls = Controls::default();
        let json = json!({"model": "claude", "tools": [{"name": "search", "input_schema": {}}]});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        let Reply::Json(bytes) = messages(&call) else { panic!("not JSON") };
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["stop_reason"], "tool_use");
        assert_eq!(body["content"], json!([{"type": "tool_use", "id": TOOL_USE_ID, "name": "search", "input": {}}]));
    }
}
