//! OpenAI Responses API: POST `.../responses`.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::control::Usage;
use crate::reply::{sse_event, Call, Reply, CREATED};

const ITEM_ID: &str = "msg_mock";
const CALL_ITEM_ID: &str = "fc_mock";

/// The Responses `usage` object.
fn usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cached},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.thoughts},
        "total_tokens": u.prompt + u.completion,
    })
}

fn response(call: &Call<'_>, status: &str, output: Value, usage: Value) -> Value {
    json!({
        "id": "resp_mock",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": null,
        "incomplete_details": null,
        "model": call.model(),
        "output": output,
        "usage": usage,
    })
}

fn message_item(status: &str, content: Value) -> Value {
    json!({"type": "message", "id": ITEM_ID, "status": status, "role": "assistant", "content": content})
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

fn function_call_item(status: &str, name: &str, arguments: &str) -> Value {
    json!({
        "type": "function_call",
        "id": CALL_ITEM_ID,
        "call_id": "call_mock",
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

/// The finished output: a function call when the request offers tools, else a message.
fn final_item(call: &Call<'_>) -> Value {
    match call.first_tool() {
        Some(name) => function_call_item("completed", name, "{}"),
        None => message_item("completed", json!([text_part(call.controls.text())])),
    }
}

pub(crate) fn responses(call: &Call<'_>) -> Reply {
    let completed = response(call, "completed", json!([final_item(call)]), usage(&call.controls.usage));
    if !call.stream() {
        return Reply::json(&completed);
    }

    let mut events = Events::default();
    let in_progress = response(call, "in_progress", json!([]), Value::Null);
    events.push("response.created", json!({"response": in_progress}));
    events.push("response.in_progress", json!({"response": in_progress}));
    match call.first_tool() {
        Some(name) => {
            let item = function_call_item("in_progress", name, "");
            events.push("response.output_item.added", json!({"output_index": 0, "item": item}));
            let at = json!({"item_id": CALL_ITEM_ID, "output_index": 0});
            events.push("response.function_call_arguments.delta", with(&at, "delta", "{}"));
            events.push("response.function_call_arguments.done", with(&at, "arguments", "{}"));
        }
        None => {
            let item = message_item("in_progress", json!([]));
            events.push("response.output_item.added", json!({"output_index": 0, "item": item}));
            let at = json!({"item_id": ITEM_ID, "output_index": 0, "content_index": 0});
            events.push("response.content_part.added", with(&at, "part", text_part("")));
            for piece in call.controls.pieces() {
                events.push("response.output_text.delta", with(&at, "delta", piece));
            }
            let text = call.controls.text();
            events.push("response.output_text.done", with(&at, "text", text));
            events.push("response.content_part.done", with(&at, "part", text_part(text)));
        }
    }
    let done = json!({"output_index": 0, "item": final_item(call)});
    events.push("response.output_item.done", done);
    events.push("response.completed", json!({"response": completed}));
    Reply::sse(events.0)
}

/// `base` with one more field.
fn with(base: &Value, key: &str, value: impl Into<Value>) -> Value {
    let mut out = base.clone();
    out[key] = value.into();
    out
}

/// Events numbered in order by `sequence_number`.
#[derive(Default)]
struct Events(Vec<Bytes>);

impl Events {
    /// Adds event `kind` with `fields` after its `type` and `sequence_number`.
    fn push(&mut self, kind: &str, fields: Value) {
        let mut event = json!({"type": kind, "sequence_number": self.0.len()});
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        self.0.push(sse_event(kind, &event));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use crate::control::Controls;

    fn events(json: Value) -> Vec<(String, Value)> {
        let controls = Controls::default();
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        let Reply::Stream { events, .. } = responses(&call) else { panic!("not a stream") };
        events
            .iter()
            .map(|e| {
                let text = std::str::from_utf8(e).unwrap();
                let (name, data) = text.trim_end().split_once('\n').unwrap();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(name.strip_prefix("event: ").unwrap(), data["type"]);
                (data["type"].as_str().unwrap().to_owned(), data)
            })
            .collect()
    }

    #[test]
    fn streams_numbered_events_ending_with_usage() {
        let events = events(json!({"model": "gpt-4o", "stream": true}));
        for (i, (_, data)) in events.iter().enumerate() {
            assert_eq!(data["sequence_number"], i);
        }
        assert_eq!(events[0].0, "response.created");
        let text: String = events
            .iter()
            .filter(|(kind, _)| kind == "response.output_text.delta")
            .map(|(_, data)| data["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, crate::control::DEFAULT_TEXT);
        let (kind, last) = events.last().unwrap();
        assert_eq!(kind, "response.completed");
        assert_eq!(last["response"]["usage"]["total_tokens"], 15);
        assert_eq!(last["response"]["model"], "gpt-4o");
    }

    #[test]
    fn calls_the_first_tool() {
        let events = events(json!({"stream": true, "tools": [{"type": "function", "name": "f"}]}));
        let (_, last) = events.last().unwrap();
        assert_eq!(last["response"]["output"][0]["type"], "function_call");
        assert_eq!(last["response"]["output"][0]["name"], "f");
    }
}
