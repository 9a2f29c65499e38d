//! Gemini: POST `.../models/{model}:generateContent` and `:streamGenerateContent`.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::control::Usage;
use crate::reply::{sse_data, Call, Reply};

/// A Gemini request: the model and the method come from the path, not the body.
pub(crate) struct Target<'a> {
    pub model: &'a str,
    pub stream: bool,
}

/// Splits `{prefix}/models/{model}:{method}` into the model and whether the method streams;
/// `None` for any other path.
pub(crate) fn target(path: &str) -> Option<Target<'_>> {
    let (before, method) = path.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    let (_, model) = before.rsplit_once("/models/")?;
    (!model.is_empty() && !model.contains('/')).then_some(Target { model, stream })
}

/// `usageMetadata` with `candidates` output tokens so far; zero counts are omitted as
/// Gemini omits them. The total includes thoughts, as Gemini counts it.
fn usage_metadata(u: &Usage, candidates: u64) -> Value {
    let mut meta = Map::new();
    meta.insert("promptTokenCount".into(), u.prompt.into());
    meta.insert("candidatesTokenCount".into(), candidates.into());
    meta.insert("totalTokenCount".into(), (u.prompt + candidates + u.thoughts).into());
    if u.cached > 0 {
        meta.insert("cachedContentTokenCount".into(), u.cached.into());
    }
    if u.thoughts > 0 {
        meta.insert("thoughtsTokenCount".into(), u.thoughts.into());
    }
    Value::Object(meta)
}

/// The name of the first function the request declares, if any.
fn first_function(json: &Value) -> Option<&str> {
    json["tools"].as_array()?.iter().find_map(|tool| {
        let declarations = tool.get("functionDeclarations").or_else(|| tool.get("function_declarations"))?;
        declarations.as_array()?.first()?["name"].as_str()
    })
}

fn chunk(target: &Target<'_>, part: Value, last: bool, usage: Value) -> Value {
    let mut candidate = json!({"content": {"parts": [part], "role": "model"}});
    if last {
        candidate["finishReason"] = "STOP".into();
    }
    candidate["index"] = 0.into();
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": target.model,
        "responseId": "mock",
    })
}

pub(crate) fn generate(call: &Call<'_>, target: &Target<'_>) -> Reply {
    let u = &call.controls.usage;
    let function = first_function(call.json);
    let call_part = |name: &str| json!({"functionCall": {"name": name, "args": {}}});
    if !target.stream {
        let part = match function {
            Some(name) => call_part(name),
            None => json!({"text": call.controls.text()}),
        };
        return Reply::json(&chunk(target, part, true, usage_metadata(u, u.completion)));
    }

    let parts: Vec<Value> = match function {
        Some(name) => vec![call_part(name)],
        None => {
            let mut pieces = call.controls.pieces();
            if pieces.is_empty() {
                pieces.push("");
            }
            pieces.into_iter().map(|text| json!({"text": text})).collect()
        }
    };
    let n = parts.len() as u64;
    let chunks = parts.into_iter().enumerate().map(|(i, part)| {
        let done = i as u64 + 1;
        // Output tokens grow with each chunk and reach the final count on the last.
        let usage = usage_metadata(u, u.completion * done / n);
        chunk(target, part, done == n, usage)
    });
    let sse = call.query.is_some_and(|q| q.split('&').any(|pair| pair == "alt=sse"));
    if sse {
        return Reply::sse(chunks.map(|c| sse_data(&c)).collect());
    }
    // Without alt=sse Gemini streams one JSON array, element by element.
    let mut events: Vec<Bytes> =
        chunks.enumerate().map(|(i, c)| Bytes::from(format!("{}{c}", if i == 0 { "[" } else { ",\r\n" }))).collect();
    events.push(Bytes::from_static(b"]"));
    Reply::Stream { content_type: "application/json", events }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use crate::control::Controls;

    #[test]
    fn reads_model_and_method_from_the_path() {
        let t = target("/v1beta/models/gemini-2.0-flash:streamGenerateContent").unwrap();
        assert_eq!((t.model, t.stream), ("gemini-2.0-flash", true));
        let t = target("/gemini/v1/models/g:generateContent").unwrap();
        assert_eq!((t.model, t.stream), ("g", false));
        assert!(target("/v1beta/models/g:countTokens").is_none());
        assert!(target("/v1/chat/completions").is_none());
    }

    #[test]
    fn omits_zero_counts_and_adds_thoughts_to_the_total() {
        let plain = usage_metadata(&Usage::default(), 5);
        assert_eq!(plain, json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}));
        let u = Usage { cached: 4, thoughts: 7, ..Usage::default() };
        let meta = usage_metadata(&u, 5);
        assert_eq!(meta["cachedContentTokenCount"], 4);
        assert_eq!(meta["thoughtsTokenCount"], 7);
        assert_eq!(meta["totalTokenCount"], 22);
    }

    #[test]
    fn array_stream_is_one_json_array() {
        let controls = Controls::default();
        let json = json!({"contents": []});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        let target = Target { model: "g", stream: true };
        let Reply::Stream { events, content_type } = generate(&call, &target) else { panic!("not a stream") };
        assert_eq!(content_type, "application/json");
        let whole: Vec<u8> = events.concat();
        let chunks: Vec<Value> = serde_json::from_slice(&whole).unwrap();
        assert_eq!(chunks.len(), 5);
        assert_eq!(chunks[4]["usageMetadata"]["candidatesTokenCount"], 5);
        assert_eq!(chunks[4]["candidates"][0]["finishReason"], "STOP");
        assert!(chunks[0]["candidates"][0].get("finishReason").is_none());
    }

    #[test]
    fn calls_the_first_declared_function() {
        let controls = Controls::default();
        let json = json!({"tools": [{"functionDeclarations": [{"name": "lookup"}]}]});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        let Reply::Json(bytes) = generate(&call, &Target { model: "g", stream: false }) else { panic!("not JSON") };
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let part = &body["candidates"][0]["content"]["parts"][0];
        assert_eq!(part["functionCall"]["name"], "lookup");
    }
}
