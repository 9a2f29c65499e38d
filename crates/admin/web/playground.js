// The Playground: chat with any configured provider/model through the gateway as the
// signed-in user. Answers stream in; each shows its log id with a link to it on the Logs page.
// These requests are the "Playground" source of the Logs page.

import { ApiError, get, request, seg } from "./api.js";
import { h, replace, store } from "./dom.js";
import { parseJson } from "./bodies.js";
import { integer } from "./format.js";

const PROVIDER_KEY = "aigw.playground.provider";
const MODEL_KEY = "aigw.playground.model";

/** The providers answer as `[{id|name, models: [id | {id|name}]}]` or `{name: {models}}`. */
export function normalizeProviders(result) {
  const list = Array.isArray(result)
    ? result
    : result && typeof result === "object"
      ? Object.entries(result).map(([id, v]) => ({ id, ...(Array.isArray(v) ? { models: v } : v) }))
      : [];
  return list
    .map((p) => ({
      id: String(p.id ?? p.name ?? p.provider ?? ""),
      hasKey: p.has_key !== false,
      models: (p.models || [])
        .map((m) => (typeof m === "string" ? m : m?.id ?? m?.name ?? m?.model ?? ""))
        .filter(Boolean)
        .map(String),
    }))
    .filter((p) => p.id);
}

export function mount(container, ctx) {
  let gateway = ctx.gateway;
  let providers = [];
  let history = []; // {role, content} of the turns that completed
  let controller = null;

  const gatewaySelect = h("select#pg-gateway", h("option", { value: gateway }, gateway));
  const providerSelect = h("select#pg-provider", h("option", { value: "" }, "Loading…"));
  const modelList = h("datalist#pg-models");
  const modelInput = h("input#pg-model", { list: "pg-models", autocomplete: "off", spellcheck: "false", placeholder: "model id" });
  const system = h("textarea#pg-system", { rows: "2", placeholder: "You are a helpful assistant." });
  const chat = h("ol.chat", { "aria-label": "Conversation", "aria-live": "polite" });
  const message = h("textarea#pg-message", { rows: "3", placeholder: "Ask something… (Enter sends, Shift+Enter for a new line)" });
  const send = h("button.btn.primary", { type: "submit" }, "Send");
  const stop = h("button.btn", { type: "button", hidden: true, onclick: () => controller?.abort() }, "Stop");
  const status = h("p.form-error", { role: "alert" });

  ctx.gateways().then((list) => {
    const ids = (list || []).map((g) => g.id);
    if (!ids.length) return;
    if (!ids.includes(gateway)) ids.unshift(gateway);
    replace(gatewaySelect, ids.map((id) => h("option", { value: id }, id)));
    gatewaySelect.value = gateway;
  });
  gatewaySelect.addEventListener("change", () => {
    gateway = gatewaySelect.value;
    ctx.setGateway(gateway);
  });
  providerSelect.addEventListener("change", () => {
    store.set(PROVIDER_KEY, providerSelect.value);
    fillModels(true);
  });
  modelInput.addEventListener("change", () => store.set(MODEL_KEY, modelInput.value.trim()));
  message.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  function fillModels(pickFirst) {
    const provider = providers.find((p) => p.id === providerSelect.value);
    const models = provider ? provider.models : [];
    replace(modelList, models.map((m) => h("option", { value: m })));
    const remembered = store.get(MODEL_KEY, "");
    if (pickFirst || !modelInput.value) {
      modelInput.value = !pickFirst && models.includes(remembered) ? remembered : models[0] || "";
    }
  }

  get(`${ctx.base}/providers`).then(
    (result) => {
      providers = normalizeProviders(result);
      if (!providers.length) {
        replace(providerSelect, h("option", { value: "" }, "No providers configured"));
        return;
      }
      // Providers aigw holds a key for first: the Playground sends no key of its own.
      providers.sort((a, b) => Number(b.hasKey) - Number(a.hasKey));
      replace(
        providerSelect,
        providers.map((p) => h("option", { value: p.id }, p.hasKey ? p.id : `${p.id} (no key configured)`)),
      );
      const remembered = store.get(PROVIDER_KEY, "");
      if (providers.some((p) => p.id === remembered)) providerSelect.value = remembered;
      fillModels(false);
    },
    (e) => {
      replace(providerSelect, h("option", { value: "" }, "Unavailable"));
      status.textContent = `Could not load the providers: ${e.message}`;
    },
  );

  const form = h(
    "form.composer",
    { onsubmit: onSend },
    h("label", { for: "pg-message" }, "Message"),
    message,
    h("div.composer-actions", status, h("div.spacer"), stop, send),
  );

  container.append(
    h(
      "section.playground-page",
      h(
        "div.page-head",
        h(
          "div",
          h("h1", "Playground"),
          h("p.sub", "Chat with any configured model through the gateway. Each answer is logged as a Playground request under your name."),
        ),
      ),
      h(
        "div.pg-controls",
        h("div.field", h("label", { for: "pg-gateway" }, "Gateway"), gatewaySelect),
        h("div.field", h("label", { for: "pg-provider" }, "Provider"), providerSelect),
        h("div.field.grow", h("label", { for: "pg-model" }, "Model"), modelInput, modelList),
        h("button.btn.ghost", { type: "button", onclick: newChat }, "New chat"),
      ),
      h("div.field", h("label", { for: "pg-system" }, "System prompt"), system),
      chat,
      form,
    ),
  );

  function newChat() {
    controller?.abort();
    history = [];
    chat.replaceChildren();
    status.textContent = "";
    message.focus();
  }

  function turnEl(role, text) {
    const body = h("div.turn-text", text);
    const meta = h("div.turn-meta");
    const el = h("li.turn", { "data-role": role }, h(`span.role.role-${role}`, role), body, meta);
    chat.append(el);
    el.scrollIntoView({ block: "nearest" });
    return { el, body, meta };
  }

  async function onSend(event) {
    event.preventDefault();
    const text = message.value.trim();
    const provider = providerSelect.value;
    const model = modelInput.value.trim();
    if (!text || controller) return;
    if (!provider || !model) {
      status.textContent = "Pick a provider and a model first.";
      return;
    }
    status.textContent = "";
    store.set(MODEL_KEY, model);
    const messages = [];
    if (system.value.trim()) messages.push({ role: "system", content: system.value.trim() });
    messages.push(...history, { role: "user", content: text });
    turnEl("user", text);
    message.value = "";
    const answer = turnEl("assistant", "");
    answer.el.classList.add("streaming");
    controller = new AbortController();
    send.disabled = true;
    stop.hidden = false;
    const started = performance.now();
    let logId = null;
    let content = "";
    let usage = null;
    try {
      const res = await request(`${ctx.base}/gateways/${seg(gateway)}/playground/chat/completions`, {
        method: "POST",
        body: { model: `${provider}/${model}`, messages, stream: true, stream_options: { include_usage: true } },
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
      logId = res.headers.get("cf-aig-log-id");
      showLog(answer.meta, logId, null, null);
      if (/event-stream/i.test(res.headers.get("content-type") || "")) {
        for await (const event of sseData(res.body)) {
          if (event.error) throw new ApiError(res.status, event.error.message || JSON.stringify(event.error), event);
          const delta = (event.choices || []).map((c) => c?.delta?.content || "").join("");
          if (delta) {
            content += delta;
            answer.body.textContent = content;
          }
          if (event.usage) usage = event.usage;
        }
      } else {
        const body = await res.json();
        content = (body.choices || []).map((c) => c?.message?.content || "").join("");
        usage = body.usage || null;
        answer.body.textContent = content;
      }
      if (!content) answer.body.replaceChildren(h("span.muted", "(no text in the answer)"));
      history.push({ role: "user", content: text }, { role: "assistant", content });
    } catch (e) {
      logId = logId || e.body?.log_id || null;
      answer.el.classList.add("failed");
      const aborted = e.name === "AbortError";
      answer.body.append(h("div.error-box", aborted ? "Stopped." : e.message));
      if (!aborted && e instanceof ApiError && e.status === 401) return;
    } finally {
      answer.el.classList.remove("streaming");
      controller = null;
      send.disabled = false;
      stop.hidden = true;
    }
    showLog(answer.meta, logId, usage, Math.round(performance.now() - started));
  }

  function showLog(meta, logId, usage, ms) {
    const parts = [];
    if (logId) {
      parts.push(
        h(
          "a.log-link",
          { href: `#/logs?gateway=${encodeURIComponent(gateway)}&log=${encodeURIComponent(logId)}`, title: "Open this request on the Logs page" },
          "Log ",
          h("code", logId),
        ),
      );
    }
    if (usage && typeof usage.total_tokens === "number") parts.push(h("span", `${integer(usage.total_tokens)} tokens`));
    if (typeof ms === "number") parts.push(h("span", `${integer(ms)} ms`));
    replace(meta, parts);
  }

  queueMicrotask(() => message.focus());
  return () => controller?.abort();
}

/** The JSON `data:` payloads of a server-sent event stream, as they arrive. */
async function* sseData(stream) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        const data = block
          .split(/\r?\n/)
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, ""))
          .join("\n");
        if (!data || data === "[DONE]") continue;
        const parsed = parseJson(data);
        if (parsed !== undefined) yield parsed;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
