//! Usage in non-streaming bodies. A body kept whole is parsed; for one larger than the capture
//! cap, the usage object is cut out of the body's tail (every API puts it at the end).

use memchr::memmem;
use serde_json::Value;

use super::sse::UsageDoc;
use super::UsageAcc;
use crate::operation::Operation;

/// Bytes of a body's end kept to find usage in bodies larger than the capture cap.
pub(crate) const TAIL_BYTES: usize = 16 * 1024;

/// Reads usage from a whole JSON body.
pub(crate) fn observe_body(op: Operation, body: &[u8], acc: &mut UsageAcc) {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        // Gemini's streamGenerateContent without alt=sse: an array of chunks.
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            acc.observe(op, &v);
        }
    } else if let Ok(doc) = serde_json::from_slice::<UsageDoc>(body) {
        // Only the usage members are built; the rest of the body is skipped unparsed.
        acc.observe(op, &doc.into_value());
    }
}

/// Reads usage from the last bytes of a body that was too large to keep whole.
pub(crate) fn observe_tail(op: Operation, tail: &[u8], acc: &mut UsageAcc) {
    for key in [&b"\"usageMetadata\""[..], &b"\"usage\""[..]] {
        let Some(at) = memmem::rfind(tail, key) else {
            continue;
        };
        let Some(object) = object_after(&tail[at + key.len()..]) else {
            continue;
        };
        let name = std::str::from_utf8(&key[1..key.len() - 1]).unwrap_or("usage");
        if let Ok(v) = serde_json::from_slice::<Value>(object) {
            let mut wrapper = serde_json::Map::new();
            wrapper.insert(name.to_string(), v);
            acc.observe(op, &Value::Object(wrapper));
            return;
        }
    }
}

/// The balanced `{...}` that follows `: ` at the start of `s`.
fn object_after(s: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < s.len() && (s[i] == b':' || s[i].is_ascii_whitespace()) {
        i += 1;
    }
    if s.get(i) != Some(&b'{') {
        return None;
    }
    let start = i;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (j, &b) in s.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&s[start..=j]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_found_in_the_tail_of_a_large_body() {
        let tail = br#"lots of text"}}],"usage":{"prompt_tokens":12,"completion_tokens":3000,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp"}"#;
        let mut acc = UsageAcc::default();
        observe_tail(Operation::ChatCompletions, tail, &mut acc);
        let u = acc.usage();
        assert_eq!((u.tokens_in, u.tokens_out), (Some(12), Some(3000)));
        let gemini = br#"..."}]}}],"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 9}}"#;
        let mut acc = UsageAcc::default();
        observe_tail(Operation::GeminiGenerate { stream: false }, gemini, &mut acc);
        assert_eq!(acc.usage().tokens_out, Some(9));
        let mut acc = UsageAcc::default();
        observe_tail(Operation::ChatCompletions, br#"{"usage":{"prompt_tokens":1"#, &mut acc);
        assert!(!acc.found());
    }
}
