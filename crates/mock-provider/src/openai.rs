//! OpenAI: chat completions, legacy completions, embeddings, models.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};

use crate::control::{Controls, Usage};
use crate::reply::{sse_data, Call, Reply, CREATED, SSE_DONE};

/// The default non-streaming chat answer (default text and usage, no tools), serialised
/// once: only the id and the model change from request to request.
pub(crate) struct ChatTemplate {
    /// Everything after `"model":...,` in the default answer.
    tail: Bytes,
}

impl ChatTemplate {
    pub(crate) fn new() -> Self {
        Self { tail: chat_tail(&Controls::default(), None, None) }
    }
}

/// The `usage` object of chat and legacy completions. Reasoning tokens are part of the
/// completion tokens, as OpenAI counts them.
pub(crate) fn usage(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
        "prompt_tokens_details": {"cached_tokens": u.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.thoughts,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}

/// POST `.../chat/completions`.
pub(crate) fn chat(call: &Call<'_>, template: &ChatTemplate) -> Reply {
    if call.stream() {
        return chat_stream(call);
    }
    let controls = call.controls;
    let tool = call.first_tool();
    let plain = controls.text.is_none() && controls.body_bytes.is_none() && controls.usage == Usage::default();
    if plain && tool.is_none() {
        return Reply::Json(chat_body(call, &template.tail));
    }
    let body = chat_body(call, &chat_tail(controls, tool, None));
    match controls.body_bytes {
        Some(target) if tool.is_none() && target > body.len() => {
            // The text appears once in the body and each `x` serialises to one byte.
            let mut text = String::with_capacity(target);
            text.push_str(controls.text());
            text.extend(std::iter::repeat_n('x', target - body.len()));
            Reply::Json(chat_body(call, &chat_tail(controls, None, Some(&text))))
        }
        _ => Reply::Json(body),
    }
}

/// `{"id":..,"object":"chat.completion","created":..,"model":..,` followed by `tail`.
fn chat_body(call: &Call<'_>, tail: &[u8]) -> Bytes {
    let head = format!(
        "{{\"id\":\"chatcmpl-mock-{}\",\"object\":\"chat.completion\",\"created\":{CREATED},\"model\":{},",
        call.number,
        Value::from(call.model()),
    );
    let mut body = BytesMut::with_capacity(head.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(tail);
    body.freeze()
}

/// The part of a chat answer after the model, without the leading `{`.
fn chat_tail(controls: &Controls, tool: Option<&str>, text: Option<&str>) -> Bytes {
    let (message, finish_reason) = match tool {
        Some(name) => (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_mock",
                "type": "function",
                "function": {"name": name, "arguments": "{}"},
            }], "refusal": null}),
            "tool_calls",
        ),
        None => (json!({"role": "assistant", "content": text.unwrap_or(controls.text()), "refusal": null}), "stop"),
    };
    let rest = json!({
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": usage(&controls.usage),
        "system_fingerprint": "fp_mock",
    });
    let rest = rest.to_string();
    Bytes::from(rest).slice(1..)
}

fn chat_stream(call: &Call<'_>) -> Reply {
    let id = format!("chatcmpl-mock-{}", call.number);
    let include_usage = call.include_usage();
    let chunk = |delta: Value, finish_reason: Value| {
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": call.model(),
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        sse_data(&chunk)
    };
    let mut events = Vec::new();
    let finish_reason = match call.first_tool() {
        Some(name) => {
            events.push(chunk(
                json!({"role": "assistant", "content": null, "tool_calls": [{
                    "index": 0,
                    "id": "call_mock",
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }], "refusal": null}),
                Value::Null,
            ));
            events.push(chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}), Value::Null));
            "tool_calls"
        }
        None => {
            events.push(chunk(json!({"role": "assistant", "content": ""}), Value::Null));
            for piece in call.controls.pieces() {
                events.push(chunk(json!({"content": piece}), Value::Null));
            }
            "stop"
        }
    };
    events.push(chunk(json!({}), Value::from(finish_reason)));
    if include_usage {
        events.push(sse_data(&json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": call.model(),
            "system_fingerprint": "fp_mock",
            "choices": [],
            "usage": usage(&call.controls.usage),
        })));
    }
    events.push(SSE_DONE);
    Reply::sse(events)
}

/// POST `.../completions` (legacy, not chat).
pub(crate) fn completions(call: &Call<'_>) -> Reply {
    let id = format!("cmpl-mock-{}", call.number);
    let u = &call.controls.usage;
    let usage = json!({
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
    });
    let object = |choices: Value| {
        json!({
            "id": id,
            "object": "text_completion",
            "created": CREATED,
            "model": call.model(),
            "choices": choices,
        })
    };
    let choice = |text: &str, finish_reason: Value| json!([{"text": text, "index": 0, "logprobs": null, "finish_reason": finish_reason}]);
    if !call.stream() {
        let mut answer = object(choice(call.controls.text(), Value::from("stop")));
        answer["usage"] = usage;
        return Reply::json(&answer);
    }
    let include_usage = call.include_usage();
    let chunk = |choices: Value| {
        let mut chunk = object(choices);
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        sse_data(&chunk)
    };
    let mut events: Vec<Bytes> =
        call.controls.pieces().into_iter().map(|piece| chunk(choice(piece, Value::Null))).collect();
    events.push(chunk(choice("", Value::from("stop"))));
    if include_usage {
        let mut last = object(json!([]));
        last["usage"] = usage;
        events.push(sse_data(&last));
    }
    events.push(SSE_DONE);
    Reply::sse(events)
}

/// POST `.../embeddings`: one embedding per input.
pub(crate) fn embeddings(call: &Call<'_>) -> Reply {
    let inputs = match &call.json["input"] {
        // An array of token ids is one tokenised input; any other array is one per element.
        Value::Array(items) if items.first().is_some_and(|first| !first.is_number()) => items.len(),
        _ => 1,
    };
    let data: Vec<Value> =
        (0..inputs).map(|index| json!({"object": "embedding", "index": index, "embedding": [0.1, 0.2, 0.3]})).collect();
    let prompt = call.controls.usage.prompt;
    Reply::json(&json!({
        "object": "list",
        "data": data,
        "model": call.model(),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }))
}

/// GET `.../models`.
pub(crate) fn models() -> Reply {
    let data: Vec<Value> = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "mock"}))
        .collect();
    Reply::json(&json!({"object": "list", "data": data}))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;

    fn body(reply: Reply) -> Value {
        match reply {
            Reply::Json(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Reply::Stream { .. } => panic!("expected a JSON body"),
        }
    }

    #[test]
    fn the_template_matches_a_freshly_built_answer() {
        let plain = Controls::default();
        // Same values as the default, but set by headers: takes the slow path.
        let explicit = Controls { text: Some(crate::control::DEFAULT_TEXT.to_owned()), ..Controls::default() };
        let json = json!({"model": "gpt-4o-mini", "messages": []});
        let template = ChatTemplate::new();
        let fast = body(chat(&Call { number: 3, controls: &plain, json: &json, query: None }, &template));
        let slow = body(chat(&Call { number: 3, controls: &explicit, json: &json, query: None }, &template));
        assert_eq!(fast, slow);
        assert_eq!(fast["id"], "chatcmpl-mock-3");
        assert_eq!(fast["model"], "gpt-4o-mini");
        assert_eq!(fast["choices"][0]["message"]["content"], crate::control::DEFAULT_TEXT);
        assert_eq!(fast["usage"]["total_tokens"], 15);
    }

    #[test]
    fn pads_to_the_requested_body_size() {
        let controls = Controls { body_bytes: Some(4096), ..Controls::default() };
        let json = json!({"model": "m"});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        let Reply::Json(bytes) = chat(&call, &ChatTemplate::new()) else { panic!("not JSON") };
        assert_eq!(bytes.len(), 4096);
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(value["choices"][0]["message"]["content"].as_str().unwrap().ends_with("xxx"));
    }

    #[test]
    fn counts_embedding_inputs() {
        let controls = Controls::default();
        for (input, n) in
            [(json!("one"), 1), (json!(["a", "b", "c"]), 3), (json!([1, 2, 3]), 1), (json!([[1, 2], [3]]), 2)]
        {
            let json = json!({"model": "e", "input": input});
            let call = Call { number: 1, controls: &controls, json: &json, query: None };
            assert_eq!(body(embeddings(&call))["data"].as_array().unwrap().len(), n);
        }
    }
}
