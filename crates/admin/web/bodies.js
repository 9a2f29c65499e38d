// Reading stored request and response payloads: chat requests become a conversation
// ({role, text} turns), responses become the model's output text. Anything else is shown as
// formatted JSON (or as the raw text when it is not JSON).

/** Parses JSON text, or returns undefined. */
export function parseJson(text) {
  if (typeof text !== "string" || !text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Pretty JSON for display. */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** The text of a message's content: a string, or content parts of any of the formats. */
function contentText(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return isObject(content) ? partText(content) : String(content);
  return content.map(partText).filter((t) => t !== "").join("\n");
}

function partText(part) {
  if (typeof part === "string") return part;
  if (!isObject(part)) return String(part);
  if (typeof part.text === "string") return part.text; // text, input_text, output_text, Gemini parts
  switch (part.type) {
    case "image_url":
    case "image":
    case "input_image":
      return "[image]";
    case "input_audio":
      return "[audio]";
    case "tool_use":
      return `→ ${part.name}(${JSON.stringify(part.input ?? {})})`;
    case "tool_result":
      return contentText(part.content);
    default:
      break;
  }
  if (part.functionCall) return `→ ${part.functionCall.name}(${JSON.stringify(part.functionCall.args ?? {})})`;
  if (part.functionResponse) return `← ${part.functionResponse.name}: ${JSON.stringify(part.functionResponse.response)}`;
  if (part.inlineData || part.inline_data) return "[inline data]";
  return JSON.stringify(part);
}

function toolCallsText(calls) {
  if (!Array.isArray(calls)) return "";
  return calls
    .map((c) => (c && c.function ? `→ ${c.function.name}(${c.function.arguments ?? ""})` : JSON.stringify(c)))
    .join("\n");
}

function turn(role, text) {
  return { role: String(role || "unknown"), text };
}

function validMessages(list) {
  return Array.isArray(list) && list.length > 0 && list.every((m) => isObject(m) && typeof m.role === "string");
}

/**
 * The conversation of a chat request, or null when the body is not in a standard message
 * format. Knows OpenAI chat (`messages`), Anthropic messages (`system` + `messages`), Gemini
 * (`systemInstruction` + `contents`) and the OpenAI Responses API (`instructions` + `input`,
 * only on a `responses` endpoint: an embeddings request has an `input` too).
 */
export function conversation(body, path = "") {
  if (!isObject(body)) return null;
  const turns = [];
  if (validMessages(body.messages)) {
    if (body.system !== undefined) {
      const system = contentText(body.system);
      if (system) turns.push(turn("system", system));
    }
    for (const m of body.messages) {
      const text = [contentText(m.content), toolCallsText(m.tool_calls)].filter(Boolean).join("\n");
      turns.push(turn(m.role, text));
    }
    return turns;
  }
  if (Array.isArray(body.contents) && body.contents.length && body.contents.every(isObject)) {
    const system = body.systemInstruction || body.system_instruction;
    if (system) turns.push(turn("system", contentText(system.parts ?? system)));
    for (const c of body.contents) turns.push(turn(c.role || "user", contentText(c.parts)));
    return turns;
  }
  const responsesApi = /(^|\/)responses$/.test(path);
  if (responsesApi && (typeof body.input === "string" || validMessages(body.input))) {
    if (typeof body.instructions === "string" && body.instructions) turns.push(turn("system", body.instructions));
    if (typeof body.input === "string") turns.push(turn("user", body.input));
    else for (const m of body.input) turns.push(turn(m.role, contentText(m.content)));
    return turns;
  }
  return null;
}

/** The events of an SSE body: the JSON of each `data:` line that has some. */
function sseEvents(text) {
  const events = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (!data || data === "[DONE]") continue;
    const parsed = parseJson(data);
    if (parsed !== undefined) events.push(parsed);
  }
  return events;
}

export function looksLikeSse(text, contentType) {
  return /event-stream/i.test(contentType || "") || /^(data|event|id|retry):/m.test(text.slice(0, 200));
}

/** The text one streamed event adds, in any of the formats. */
function eventText(e) {
  if (!isObject(e)) return "";
  if (Array.isArray(e.choices)) {
    return e.choices.map((c) => (c?.delta?.content ?? c?.text ?? "") || "").join("");
  }
  if (e.type === "content_block_delta" && e.delta) return e.delta.text ?? e.delta.partial_json ?? "";
  if (e.type === "response.output_text.delta") return e.delta ?? "";
  if (Array.isArray(e.candidates)) return geminiText(e);
  return "";
}

function geminiText(body) {
  const parts = body.candidates?.[0]?.content?.parts;
  return Array.isArray(parts) ? parts.map((p) => (typeof p.text === "string" ? p.text : "")).join("") : "";
}

/** The output text of a non-streamed answer, or null. */
function answerText(body) {
  if (!isObject(body)) return null;
  if (Array.isArray(body.choices) && body.choices.length) {
    const texts = body.choices.map((c) => {
      if (c?.message) return [contentText(c.message.content), toolCallsText(c.message.tool_calls)].filter(Boolean).join("\n");
      return typeof c?.text === "string" ? c.text : "";
    });
    return texts.join("\n\n");
  }
  if (body.type === "message" && Array.isArray(body.content)) return contentText(body.content);
  if (Array.isArray(body.candidates)) return geminiText(body);
  if (body.object === "response" && Array.isArray(body.output)) {
    if (typeof body.output_text === "string") return body.output_text;
    return body.output
      .filter((o) => o?.type === "message")
      .map((o) => contentText(o.content))
      .join("\n");
  }
  return null;
}

/**
 * What to show of a response payload: `{text}` (the model's output), `{json}` (formatted JSON
 * fallback) or `{raw}` (the body as stored). `raw` is always set for the "Raw" view.
 */
export function responseView(text, contentType) {
  if (looksLikeSse(text, contentType)) {
    const events = sseEvents(text);
    const out = events.map(eventText).join("");
    return out ? { text: out, raw: text } : { raw: text };
  }
  const body = parseJson(text);
  if (body === undefined) return { raw: text };
  const out = answerText(body);
  if (out) return { text: out, raw: pretty(body) };
  return { json: pretty(body), raw: pretty(body) };
}
