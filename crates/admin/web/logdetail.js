// The expanded view of one log: Request (a conversation, or formatted JSON), Response (the
// model's output, scrolling when long), Error (in red), Metadata, and a footer with latency,
// prompt tokens and completion tokens. Its three requests start when the row is expanded.

import { ApiError, call, errorMessage, request } from "./api.js";
import { h, replace } from "./dom.js";
import { conversation, parseJson, pretty, responseView } from "./bodies.js";
import { dateTime, duration, integer, toDate } from "./format.js";

/** A stored payload: `{text, contentType}`, or `{missing: true}` when none was kept. */
async function payload(path) {
  try {
    const res = await request(path);
    return { text: await res.text(), contentType: res.headers.get("content-type") || "" };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { missing: true };
    throw e;
  }
}

/** `path` is the log's URL under the API (`.../logs/{id}`); `log` is its list item. */
export function renderDetail(path, log) {
  const requestBox = h("div.section-body", h("p.muted", "Loading…"));
  const responseBox = h("div.section-body", h("p.muted", "Loading…"));
  const errorSection = h("section.detail-section.error-section", { hidden: true });
  const metadataSection = h("section.detail-section.metadata-section", { hidden: true });
  const footer = h("footer.detail-footer");
  const el = h(
    "div.detail",
    h("section.detail-section.request-section", h("h3", "Request"), requestBox),
    h("section.detail-section.response-section", h("h3", "Response"), responseBox),
    errorSection,
    metadataSection,
    footer,
  );
  renderFooter(footer, log);

  const detail = call(path).then((d) => d.result);
  const req = payload(`${path}/request`);
  const res = payload(`${path}/response`);

  detail.then(
    (d) => {
      renderFooter(footer, d);
      renderMetadata(metadataSection, d.metadata);
      res.then((r) => renderError(errorSection, d, r), () => renderError(errorSection, d, null));
    },
    (e) => {
      renderMetadata(metadataSection, log.metadata);
      renderError(errorSection, log, null);
      footer.append(h("p.muted", `Could not load the log's detail: ${e.message}`));
    },
  );
  req.then(
    (p) => renderRequest(requestBox, p, log.path),
    (e) => replace(requestBox, h("p.muted", `Could not load the request: ${e.message}`)),
  );
  res.then(
    (p) => renderResponse(responseBox, p),
    (e) => replace(responseBox, h("p.muted", `Could not load the response: ${e.message}`)),
  );
  return el;
}

function renderRequest(box, p, path) {
  if (p.missing) return replace(box, h("p.muted", "No request body was stored for this log."));
  const body = parseJson(p.text);
  const turns = body === undefined ? null : conversation(body, path);
  if (!turns) {
    return replace(box, h("pre.code.json.scroll", body === undefined ? p.text : pretty(body)));
  }
  replace(
    box,
    h(
      "ol.conversation",
      { "aria-label": "Conversation" },
      turns.map((t) =>
        h(
          "li.turn",
          h(`span.role.role-${roleClass(t.role)}`, t.role),
          h("div.turn-text", t.text === "" ? h("span.muted", "(empty)") : t.text),
        ),
      ),
    ),
    h("details.raw", h("summary", "Request JSON"), h("pre.code.json.scroll", pretty(body))),
  );
}

function roleClass(role) {
  const r = String(role).toLowerCase();
  if (r === "model") return "assistant";
  if (r === "developer") return "system";
  return ["system", "user", "assistant", "tool", "function"].includes(r) ? r : "other";
}

function renderResponse(box, p) {
  if (p.missing) return replace(box, h("p.muted", "No response body was stored for this log."));
  const view = responseView(p.text, p.contentType);
  if (view.text !== undefined) {
    return replace(
      box,
      h("div.response-text.scroll", { tabindex: "0" }, view.text),
      h("details.raw", h("summary", "Raw response"), h("pre.code.scroll", view.raw)),
    );
  }
  if (view.json !== undefined) return replace(box, h("pre.code.json.scroll", { tabindex: "0" }, view.json));
  replace(box, h("pre.code.scroll", { tabindex: "0" }, view.raw || "(empty)"));
}

/** Shown in red when the request failed: aigw's error text, else the provider's message. */
function renderError(section, log, response) {
  if (log.success && !log.error) return;
  let message = log.error || "";
  if (!message && response && !response.missing) {
    const body = parseJson(response.text);
    message = body !== undefined ? errorMessage(body, "", null) : response.text.slice(0, 500);
  }
  if (!message) message = `The request failed with status ${log.status_code ?? "unknown"}.`;
  section.hidden = false;
  replace(section, h("h3", "Error"), h("div.error-box", { role: "note" }, message));
}

function metadataObject(metadata) {
  if (!metadata) return null;
  const value = typeof metadata === "string" ? parseJson(metadata) : metadata;
  if (value === undefined) return { value: metadata };
  return value && typeof value === "object" && Object.keys(value).length ? value : null;
}

function renderMetadata(section, metadata) {
  const object = metadataObject(metadata);
  section.hidden = !object;
  if (!object) return section.replaceChildren();
  replace(
    section,
    h("h3", "Metadata"),
    h(
      "dl.metadata",
      Object.entries(object).map(([k, v]) => [h("dt", k), h("dd", typeof v === "string" ? v : JSON.stringify(v))]),
    ),
  );
}

function renderFooter(footer, log) {
  const created = toDate(log.created_at);
  const items = [
    ["Latency", duration(log.duration)],
    ["Prompt tokens", integer(log.tokens_in)],
    ["Completion tokens", integer(log.tokens_out)],
  ];
  if (log.tokens_cached) items.push(["Cached tokens", integer(log.tokens_cached)]);
  replace(
    footer,
    h("dl.stats", items.map(([k, v]) => h("div.stat", h("dt", k), h("dd", v)))),
    h(
      "p.ids",
      h("span", "Log ", h("code", log.id)),
      created ? h("span", dateTime(created)) : null,
      log.event_id ? h("span", "Event ", h("code", log.event_id)) : null,
    ),
  );
}
