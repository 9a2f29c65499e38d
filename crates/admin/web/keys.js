// The Keys page: virtual keys for programmatic access. Developers list, create and revoke their
// own keys; admins see everyone's. A new key's secret is shown once, with a copy button.

import { ApiError, call, get, seg } from "./api.js";
import { copyText, h, keyIcon, replace } from "./dom.js";
import { cost, integer, shortDate, toDate } from "./format.js";

const BUDGET_PERIODS = [
  ["day", "per day"],
  ["week", "per week"],
  ["month", "per month"],
  ["total", "in total"],
];

/** "a, b ,c" -> ["a","b","c"]; empty -> undefined (no restriction). */
function list(text) {
  const items = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

function positive(input) {
  const text = input.value.trim();
  if (!text) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${input.dataset.label} must be a positive number`);
  return n;
}

/** The body of `POST .../virtual-keys` from the form's fields. */
export function createBody(f) {
  const body = { name: f.name.value.trim() };
  if (!body.name) throw new Error("Name is required");
  const gateways = list(f.gateways.value);
  const providers = list(f.providers.value);
  const models = list(f.models.value);
  if (gateways) body.gateways = gateways;
  if (providers) body.providers = providers;
  if (models) body.models = models;
  const rpm = positive(f.rpm);
  const tpm = positive(f.tpm);
  if (rpm !== undefined || tpm !== undefined) {
    body.rate_limit = {};
    if (rpm !== undefined) body.rate_limit.requests_per_minute = Math.round(rpm);
    if (tpm !== undefined) body.rate_limit.tokens_per_minute = Math.round(tpm);
  }
  const usd = positive(f.budget);
  if (usd !== undefined) body.budget = { usd, period: f.period.value };
  if (f.expires.value) {
    // The end of the chosen day, local time.
    const [y, m, d] = f.expires.value.split("-").map(Number);
    body.expires_at = new Date(y, m - 1, d, 23, 59, 59).toISOString();
  }
  return body;
}

const STATUS_TEXT = { active: "Active", revoked: "Revoked", expired: "Expired" };

function keyStatus(key, now = Date.now()) {
  if (STATUS_TEXT[key.status]) return [key.status, STATUS_TEXT[key.status]];
  if (key.revoked_at) return ["revoked", "Revoked"];
  const expires = toDate(key.expires_at);
  if (expires && expires.getTime() <= now) return ["expired", "Expired"];
  return ["active", "Active"];
}

function limitsText(key) {
  const parts = [];
  const rl = key.rate_limit || {};
  if (rl.requests_per_minute) parts.push(`${integer(rl.requests_per_minute)} req/min`);
  if (rl.tokens_per_minute) parts.push(`${integer(rl.tokens_per_minute)} tokens/min`);
  if (key.budget && typeof key.budget.usd === "number") {
    const period = BUDGET_PERIODS.find(([v]) => v === key.budget.period)?.[1] || key.budget.period || "";
    parts.push(`$${key.budget.usd} ${period}`.trim());
  }
  for (const [field, label] of [
    ["gateways", "gateways"],
    ["providers", "providers"],
    ["models", "models"],
  ]) {
    if (Array.isArray(key[field]) && key[field].length) parts.push(`${label}: ${key[field].join(", ")}`);
  }
  return parts.length ? parts.join(" · ") : "No limits";
}

const SPEND_PERIOD = { day: "today", week: "this week", month: "this month", total: "in total" };

/** "$0.000123 this month": the spend counted against the key's budget period. */
function spendText(key) {
  if (typeof key.spend !== "number") return "—";
  const period = SPEND_PERIOD[key.spend_period];
  return period ? `${cost(key.spend)} ${period}` : cost(key.spend);
}

const USAGE_STATS = [
  ["requests", "Requests", integer],
  ["errors", "Errors", integer],
  ["tokens_in", "Prompt tokens", integer],
  ["tokens_out", "Completion tokens", integer],
  ["cost", "Cost", cost],
];

/** `{requests, errors, tokens_in, tokens_out, cost}` as label/value pairs. */
export function usageStats(total) {
  if (!total || typeof total !== "object") return [];
  return USAGE_STATS.filter(([k]) => typeof total[k] === "number").map(([k, label, fmt]) => [label, fmt(total[k])]);
}

function statsList(stats) {
  if (!stats.length) return h("p.muted", "No usage yet.");
  return h("dl.stats", stats.map(([k, v]) => h("div.stat", h("dt", k), h("dd", v))));
}

function rangeText(usage) {
  return usage?.start_date && usage?.end_date ? `${shortDate(usage.start_date)} – ${shortDate(usage.end_date)}` : "";
}

/** A key's usage: its totals over the range, then one row per day that had requests. */
function keyUsageView(usage) {
  const days = Array.isArray(usage?.days) ? [...usage.days].reverse() : [];
  return h(
    "div.usage",
    h("p.muted", rangeText(usage)),
    statsList(usageStats(usage?.total)),
    days.length
      ? h(
          "table.usage-days",
          { "aria-label": "Usage per day" },
          h("thead", h("tr", h("th", "Day"), USAGE_STATS.map(([, label]) => h("th.num", label)))),
          h(
            "tbody",
            days.map((d) => h("tr", h("td", shortDate(d.date)), USAGE_STATS.map(([k, , fmt]) => h("td.num", fmt(d[k]))))),
          ),
        )
      : null,
  );
}

/** The signed-in user's usage: totals, then the Playground and each key. */
function myUsageView(usage) {
  const parts = [];
  if (usage?.playground?.total?.requests) parts.push(["Playground", usage.playground.total]);
  for (const k of usage?.keys || []) if (k?.total?.requests) parts.push([k.name, k.total]);
  return [
    h("p.muted", rangeText(usage)),
    statsList(usageStats(usage?.total)),
    parts.length
      ? h(
          "ul.usage-sources",
          parts.map(([name, t]) => h("li", h("span.usage-source", name), ` ${integer(t.requests)} requests · ${cost(t.cost)}`)),
        )
      : null,
  ];
}

export function mount(container, ctx) {
  const base = `${ctx.base}/virtual-keys`;
  const alert = h("div.alert", { role: "alert", hidden: true });
  const myUsage = h("div.my-usage", h("p.muted", "Loading…"));
  const tbody = h("tbody");
  const secretPanel = h("div.secret-panel", { hidden: true });
  let keys = [];

  const field = (id, label, input, hint) =>
    h("div.field", h("label", { for: id }, label), input, hint ? h("p.hint", hint) : null);
  const f = {
    name: h("input#key-name", { required: true, autocomplete: "off", maxlength: "100" }),
    expires: h("input#key-expires", { type: "date" }),
    gateways: h("input#key-gateways", { placeholder: "all", autocomplete: "off" }),
    providers: h("input#key-providers", { placeholder: "all", autocomplete: "off" }),
    models: h("input#key-models", { placeholder: "all", autocomplete: "off" }),
    rpm: h("input#key-rpm", { type: "number", min: "1", step: "1", inputmode: "numeric", "data-label": "Requests per minute" }),
    tpm: h("input#key-tpm", { type: "number", min: "1", step: "1", inputmode: "numeric", "data-label": "Tokens per minute" }),
    budget: h("input#key-budget", { type: "number", min: "0.01", step: "0.01", inputmode: "decimal", "data-label": "Budget (USD)" }),
    period: h("select#key-period", BUDGET_PERIODS.map(([v, t]) => h("option", { value: v }, t))),
  };
  f.period.value = "month";
  const formError = h("p.form-error", { role: "alert" });
  const createButton = h("button.btn.primary", { type: "submit" }, "Create key");
  const form = h(
    "form.card.create-key",
    { "aria-labelledby": "create-key-title", onsubmit: onCreate },
    h("h2#create-key-title", "Create a key"),
    h(
      "div.form-grid",
      field("key-name", "Name", f.name),
      field("key-expires", "Expires", f.expires, "Optional; the key stops working after this day."),
      field("key-gateways", "Gateways", f.gateways, "Comma-separated; empty for all."),
      field("key-providers", "Providers", f.providers, "Comma-separated; empty for all."),
      field("key-models", "Models", f.models, "Comma-separated; empty for all."),
      field("key-rpm", "Requests per minute", f.rpm),
      field("key-tpm", "Tokens per minute", f.tpm),
      field("key-budget", "Budget (USD)", f.budget),
      field("key-period", "Budget period", f.period),
    ),
    h("div.form-actions", formError, h("div.spacer"), createButton),
  );

  container.append(
    h(
      "section.keys-page",
      h(
        "div.page-head",
        h(
          "div",
          h("h1", "Keys"),
          h(
            "p.sub",
            ctx.isAdmin
              ? "Virtual keys of every user in this account. Requests made with a key are logged under its name."
              : "Your virtual keys for programmatic access. Requests made with a key are logged under its name.",
          ),
        ),
      ),
      h("section.card", { "aria-labelledby": "my-usage-title" }, h("h2#my-usage-title", "Your usage"), myUsage),
      secretPanel,
      form,
      alert,
      h(
        "div.table-wrap",
        h(
          "table.keys-table",
          { "aria-label": "Virtual keys" },
          h(
            "thead",
            h(
              "tr",
              h("th", { scope: "col" }, "Name"),
              ctx.isAdmin ? h("th", { scope: "col" }, "Owner") : null,
              h("th", { scope: "col" }, "Created"),
              h("th", { scope: "col" }, "Last used"),
              h("th", { scope: "col" }, "Expires"),
              h("th", { scope: "col" }, "Limits"),
              h("th.num", { scope: "col" }, "Spend"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col" }, h("span.sr-only", "Actions")),
            ),
          ),
          tbody,
        ),
      ),
    ),
  );
  const columns = ctx.isAdmin ? 9 : 8;

  async function load() {
    try {
      keys = (await get(`${base}?per_page=100`)) || [];
      alert.hidden = true;
    } catch (e) {
      alert.hidden = false;
      alert.textContent = `Could not load keys: ${e.message}`;
      keys = [];
    }
    renderKeys();
  }

  async function loadMyUsage() {
    try {
      replace(myUsage, myUsageView(await get(`${ctx.base}/me/usage`)));
    } catch (e) {
      replace(myUsage, h("p.muted", `Usage is unavailable: ${e.message}`));
    }
  }

  function renderKeys() {
    if (!keys.length) {
      replace(tbody, h("tr.empty-row", h("td", { colspan: columns }, "No keys yet. Create one above.")));
      return;
    }
    replace(tbody, keys.map(keyRow));
  }

  function keyRow(key) {
    const [statusClass, statusText] = keyStatus(key);
    const owner = key.owner || {};
    const usageRow = h("tr.usage-row", { hidden: true }, h("td", { colspan: columns }));
    const revoke =
      statusClass === "revoked"
        ? null
        : h("button.btn.danger.small", { type: "button", "aria-label": `Revoke ${key.name}`, onclick: () => confirmRevoke(key, actions) }, "Revoke");
    const rotate =
      statusClass === "revoked"
        ? null
        : h("button.btn.small", { type: "button", "aria-label": `Rotate ${key.name}`, onclick: () => confirmRotate(key, actions) }, "Rotate");
    const usageButton = h(
      "button.btn.small",
      { type: "button", "aria-label": `Usage of ${key.name}`, "aria-expanded": "false", onclick: () => toggleUsage(key, usageRow, usageButton) },
      "Usage",
    );
    const actions = h("div.actions", usageButton, rotate, revoke);
    const row = h(
      "tr.key-row",
      { "data-key-id": key.id, class: `key-${statusClass}` },
      h(
        "td",
        h("div.key-name", keyIcon(), h("span", key.name)),
        key.prefix ? h("code.key-prefix", { title: "The start of the key" }, `${key.prefix}_…`) : null,
      ),
      ctx.isAdmin ? h("td", owner.name || owner.email || "—") : null,
      h("td", shortDate(key.created_at)),
      h("td", key.last_used_at ? shortDate(key.last_used_at) : "Never"),
      h("td", key.expires_at ? shortDate(key.expires_at) : "Never"),
      h("td.limits", limitsText(key)),
      h("td.num", spendText(key)),
      h("td", h(`span.chip.${statusClass === "active" ? "ok" : "err"}`, statusText)),
      h("td", actions),
    );
    const frag = document.createDocumentFragment();
    frag.append(row, usageRow);
    return frag;
  }

  async function toggleUsage(key, usageRow, button) {
    const open = usageRow.hidden;
    usageRow.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const cell = usageRow.firstChild;
    replace(cell, h("p.muted", "Loading…"));
    try {
      const usage = await get(`${base}/${seg(key.id)}/usage`);
      replace(cell, h("h3", `Usage of ${key.name}`), keyUsageView(usage));
    } catch (e) {
      replace(cell, h("p.muted", `Usage is unavailable: ${e.message}`));
    }
  }

  function confirmRevoke(key, actions) {
    const keep = [...actions.childNodes];
    const yes = h("button.btn.danger.small", { type: "button", onclick: () => revoke(key) }, "Confirm revoke");
    const no = h("button.btn.small", { type: "button", onclick: () => replace(actions, keep) }, "Cancel");
    replace(actions, h("span.confirm", `Revoke ${key.name}? Apps using it stop working.`), yes, no);
    yes.focus();
  }

  function confirmRotate(key, actions) {
    const keep = [...actions.childNodes];
    const yes = h("button.btn.small", { type: "button", onclick: () => rotateKey(key) }, "Confirm rotate");
    const no = h("button.btn.small", { type: "button", onclick: () => replace(actions, keep) }, "Cancel");
    replace(actions, h("span.confirm", `New secret for ${key.name}? The current one stops working.`), yes, no);
    yes.focus();
  }

  async function rotateKey(key) {
    try {
      showSecret((await call(`${base}/${seg(key.id)}/rotate`, { method: "POST", body: {} })).result, "rotated");
      await load();
    } catch (e) {
      alert.hidden = false;
      alert.textContent = `Could not rotate ${key.name}: ${e.message}`;
    }
  }

  async function revoke(key) {
    try {
      await call(`${base}/${seg(key.id)}`, { method: "DELETE" });
      await load();
    } catch (e) {
      alert.hidden = false;
      alert.textContent = `Could not revoke ${key.name}: ${e.message}`;
    }
  }

  async function onCreate(event) {
    event.preventDefault();
    formError.textContent = "";
    let body;
    try {
      body = createBody(f);
    } catch (e) {
      formError.textContent = e.message;
      return;
    }
    createButton.disabled = true;
    try {
      const created = (await call(base, { method: "POST", body })).result;
      form.reset();
      f.period.value = "month";
      showSecret(created);
      await load();
    } catch (e) {
      formError.textContent = e instanceof ApiError ? e.message : `Could not create the key: ${e.message}`;
    } finally {
      createButton.disabled = false;
    }
  }

  function showSecret(created, what = "created") {
    const secret = created.secret || "";
    const code = h("code.secret", secret);
    const copied = h("span.copied", { role: "status" });
    const copy = h("button.btn.primary", {
      type: "button",
      onclick: async () => {
        copied.textContent = (await copyText(secret, code)) ? "Copied." : "Select the secret and copy it.";
      },
    }, "Copy");
    secretPanel.hidden = false;
    replace(
      secretPanel,
      h("h2", `Key "${created.name}" ${what}`),
      h("p", "Copy the secret now: it is shown only this once and cannot be recovered."),
      h("div.secret-line", code, copy, copied),
      h(
        "p.hint",
        "Use it as the API key of any SDK pointed at the gateway, e.g. ",
        h("code", `OpenAI(base_url="http://HOST:8080/v1/${ctx.account}/${ctx.gateway}/openai", api_key=SECRET)`),
      ),
      h("button.btn.ghost", { type: "button", onclick: () => { secretPanel.hidden = true; secretPanel.replaceChildren(); } }, "Done"),
    );
    copy.focus();
  }

  load();
  loadMyUsage();
  return () => {};
}
