// The Logs page (seed 003): a filter bar (search, status, source), rows grouped under day
// headers, expandable rows, auto-refresh, and pages of 10/25/50 rows. Filtering, counting and
// paging happen on the server: one list request per view; bodies are fetched only when a row
// is expanded.

import { call, seg } from "./api.js";
import { debounce, h, keyIcon, replace, store, userIcon } from "./dom.js";
import { cost, dateTime, dayKey, dayLabel, integer, timeOfDay, toDate, totalTokens } from "./format.js";

// The expanded view's code loads after the first list is drawn, not before it.
let detailModule = null;
function loadDetailModule() {
  detailModule = detailModule || import("./logdetail.js");
  return detailModule;
}

export const PER_PAGE_CHOICES = [10, 25, 50];
const PER_PAGE_KEY = "aigw.logs.perPage";
export const AUTO_REFRESH_MS = 10_000;
const SEARCH_DEBOUNCE_MS = 300;
const COLUMNS = 6;

// Whether auto-refresh is on: kept while the tab lives, so it survives paging and a visit to
// another dashboard page.
let autoRefresh = false;

const STATUS = [
  ["all", "All"],
  ["success", "Success"],
  ["error", "Error"],
];
const SOURCE = [
  ["all", "All"],
  ["playground", "Playground"],
  ["virtual_key", "Virtual key"],
];

function storedPerPage() {
  const n = Number(store.get(PER_PAGE_KEY, "25"));
  return PER_PAGE_CHOICES.includes(n) ? n : 25;
}

/** The path of the first list request of a page load (for `prefetch`). */
export function firstListPath(base, gateway) {
  const view = { page: 1, perPage: storedPerPage(), search: "", status: "all", source: "all", logId: null };
  return `${base}/gateways/${seg(gateway)}/logs?${listQuery(view)}`;
}

/** The list query of a view: Cloudflare's parameters, filters in the bracket form. */
export function listQuery(s) {
  const q = new URLSearchParams({
    page: String(s.page),
    per_page: String(s.perPage),
    order_by: "created_at",
    order_by_direction: "desc",
  });
  if (s.search) q.set("search", s.search);
  const filters = [];
  if (s.status !== "all") filters.push(["success", "eq", s.status === "success" ? "true" : "false"]);
  if (s.source !== "all") filters.push(["source_kind", "eq", s.source]);
  if (s.logId) filters.push(["id", "eq", s.logId]);
  filters.forEach(([key, operator, value], i) => {
    q.set(`filters[${i}][key]`, key);
    q.set(`filters[${i}][operator]`, operator);
    q.set(`filters[${i}][value][0]`, value);
  });
  return q.toString();
}

export function mount(container, ctx) {
  const state = {
    gateway: ctx.gateway,
    search: "",
    status: "all",
    source: "all",
    page: 1,
    perPage: storedPerPage(),
    logId: ctx.params.get("log") || null,
    total: 0,
  };
  const expanded = new Map(); // log id -> its detail element, kept across refreshes
  let loadSeq = 0;
  let timer = null;
  let first = true;

  // ---- the filter bar
  const search = h("input.search", {
    type: "search",
    "aria-label": "Search",
    placeholder: "Search endpoint, model, user, key, metadata",
    autocomplete: "off",
    spellcheck: "false",
  });
  const runSearch = debounce(() => setFilter({ search: search.value.trim() }), SEARCH_DEBOUNCE_MS);
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      runSearch.cancel();
      setFilter({ search: search.value.trim() });
    }
  });

  const statusGroup = toggleGroup("Status", STATUS, () => state.status, (status) => setFilter({ status }));
  const sourceGroup = toggleGroup("Source", SOURCE, () => state.source, (source) => setFilter({ source }));

  const gatewaySelect = h("select.gateway", { "aria-label": "Gateway" }, h("option", { value: state.gateway }, state.gateway));
  gatewaySelect.addEventListener("change", () => {
    ctx.setGateway(gatewaySelect.value);
    setFilter({ gateway: gatewaySelect.value });
  });
  function fillGateways() {
    ctx.gateways().then((list) => {
      const ids = (list || []).map((g) => g.id);
      if (!ids.length) return;
      if (!ids.includes(state.gateway)) ids.unshift(state.gateway);
      replace(gatewaySelect, ids.map((id) => h("option", { value: id }, id)));
      gatewaySelect.value = state.gateway;
    });
  }

  const refresh = h("button.btn", { type: "button", onclick: () => load() }, "Refresh");
  const auto = h("button.btn.auto", {
    type: "button",
    "aria-pressed": "false",
    title: `Refresh every ${AUTO_REFRESH_MS / 1000} seconds`,
    onclick: () => setAuto(!autoRefresh),
  }, h("span.dot", { "aria-hidden": "true" }), "Auto");

  // ---- the list
  const total = h("p.total", { "aria-live": "polite" }, "");
  const alert = h("div.alert", { role: "alert", hidden: true });
  const focusBanner = h("div.focus-banner", { hidden: true });
  const tbody = h("tbody");
  const table = h(
    "table.logs-table",
    { "aria-label": "Logs" },
    h(
      "thead",
      h(
        "tr",
        h("th", { scope: "col" }, "Endpoint"),
        h("th", { scope: "col" }, "Source"),
        h("th.num", { scope: "col" }, "Tokens"),
        h("th.num", { scope: "col" }, "Cost"),
        h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Time"),
      ),
    ),
    tbody,
  );

  // ---- pages
  const perPage = h(
    "select#rows-per-page",
    PER_PAGE_CHOICES.map((n) => h("option", { value: String(n) }, String(n))),
  );
  perPage.value = String(state.perPage);
  perPage.addEventListener("change", () => {
    store.set(PER_PAGE_KEY, perPage.value);
    setFilter({ perPage: Number(perPage.value) });
  });
  const range = h("span.range", "");
  const prev = h("button.btn", { type: "button", onclick: () => goPage(state.page - 1) }, "Previous");
  const next = h("button.btn", { type: "button", onclick: () => goPage(state.page + 1) }, "Next");
  const pageOf = h("span.page-of", "");

  container.append(
    h(
      "section.logs-page",
      h(
        "div.page-head",
        h("div", h("h1", "Logs"), h("p.sub", "View, filter, and inspect every request that flows through the AI Gateway.")),
        total,
      ),
      h(
        "div.filterbar",
        search,
        statusGroup.el,
        sourceGroup.el,
        gatewaySelect,
        h("div.spacer"),
        refresh,
        auto,
      ),
      focusBanner,
      alert,
      h("div.table-wrap", table),
      h(
        "div.pager",
        h("label", { for: "rows-per-page" }, "Rows per page"),
        perPage,
        range,
        h("div.spacer"),
        prev,
        pageOf,
        next,
      ),
    ),
  );

  function setFilter(change) {
    Object.assign(state, change, { page: 1 });
    load();
  }

  function goPage(page) {
    state.page = page;
    load();
  }

  function setAuto(on) {
    autoRefresh = on;
    auto.setAttribute("aria-pressed", String(on));
    auto.classList.toggle("on", on);
    clearInterval(timer);
    // A tab in the background skips its polls (and catches up on the first one it is shown for).
    timer = on ? setInterval(() => document.hidden || load({ quiet: true }), AUTO_REFRESH_MS) : null;
    if (on) load({ quiet: true });
  }

  function showFocusBanner() {
    focusBanner.hidden = !state.logId;
    if (!state.logId) return focusBanner.replaceChildren();
    replace(
      focusBanner,
      h("span", "Showing log ", h("code", state.logId)),
      h("button.btn.ghost", {
        type: "button",
        onclick: () => {
          state.logId = null;
          history.replaceState(null, "", "#/logs");
          setFilter({});
        },
      }, "Show all logs"),
    );
  }

  async function load({ quiet = false } = {}) {
    const seq = ++loadSeq;
    statusGroup.sync();
    sourceGroup.sync();
    showFocusBanner();
    if (!quiet) table.setAttribute("aria-busy", "true");
    const path = `${ctx.base}/gateways/${seg(state.gateway)}/logs?${listQuery(state)}`;
    let envelope;
    try {
      envelope = await call(path);
    } catch (e) {
      if (seq !== loadSeq) return;
      table.removeAttribute("aria-busy");
      alert.hidden = false;
      alert.textContent = e.status === 404 ? `Gateway "${state.gateway}" was not found.` : `Could not load logs: ${e.message}`;
      fillGateways(); // so that another gateway can be picked
      return;
    }
    if (seq !== loadSeq) return; // a newer view was asked for meanwhile
    alert.hidden = true;
    table.removeAttribute("aria-busy");
    const logs = envelope.result || [];
    state.total = envelope.result_info?.total_count ?? logs.length;
    const pages = Math.max(1, Math.ceil(state.total / state.perPage));
    if (state.page > pages && state.total > 0) {
      state.page = pages;
      return load({ quiet: true });
    }
    renderRows(logs);
    total.textContent = `${integer(state.total)} ${state.total === 1 ? "log" : "logs"}`;
    const from = state.total ? (state.page - 1) * state.perPage + 1 : 0;
    range.textContent = `${integer(from)}–${integer(from + logs.length - (logs.length ? 1 : 0))} of ${integer(state.total)}`;
    pageOf.textContent = `Page ${integer(state.page)} of ${integer(pages)}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    if (first) {
      first = false;
      performance.mark("aigw:logs-ready");
      fillGateways();
      loadDetailModule();
      if (state.logId && logs.length === 1) toggle(logs[0]);
    }
  }

  function renderRows(logs) {
    const focusedId = document.activeElement?.closest?.(".log-row")?.dataset.logId;
    const rows = [];
    const now = new Date();
    let lastDay = null;
    for (const log of logs) {
      const created = toDate(log.created_at) || now;
      const key = dayKey(created);
      if (key !== lastDay) {
        lastDay = key;
        rows.push(h("tr.day-row", h("th", { colspan: COLUMNS, scope: "colgroup" }, dayLabel(created, now))));
      }
      const row = logRow(log, created);
      rows.push(row);
      if (expanded.has(log.id)) {
        row.setAttribute("aria-expanded", "true");
        rows.push(expanded.get(log.id));
      }
    }
    if (!logs.length) {
      const filtered = state.search || state.status !== "all" || state.source !== "all" || state.logId;
      rows.push(
        h(
          "tr.empty-row",
          h("td", { colspan: COLUMNS }, filtered ? "No logs match these filters." : "No logs yet. Send a request through the gateway, or try the Playground."),
        ),
      );
    }
    replace(tbody, rows);
    if (focusedId) tbody.querySelector(`.log-row[data-log-id="${CSS.escape(focusedId)}"]`)?.focus();
  }

  function logRow(log, created) {
    const failed = !log.success;
    const row = h(
      "tr.log-row",
      {
        tabindex: "0",
        "aria-expanded": "false",
        "aria-controls": `detail-${log.id}`,
        "data-log-id": log.id,
        class: failed ? "is-error" : "is-ok",
      },
      h("td.endpoint", h("div.path", log.path || "/"), h("div.model", [log.provider, log.model].filter(Boolean).join(" · "))),
      h("td.source", sourceCell(log.source)),
      h("td.num.tokens", integer(totalTokens(log))),
      h("td.num.cost", cost(log.cost)),
      h(
        "td.status",
        h(`span.chip.${failed ? "err" : "ok"}`, { title: failed ? "Error" : "Success" }, String(log.status_code ?? (failed ? "error" : "ok"))),
      ),
      h("td.time", h("time", { datetime: log.created_at, title: dateTime(created) }, timeOfDay(created))),
    );
    row.addEventListener("click", () => toggle(log));
    row.addEventListener("keydown", (e) => {
      if (e.target !== row) return;
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        toggle(log);
      } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const rows = [...tbody.querySelectorAll(".log-row")];
        const i = rows.indexOf(row) + (e.key === "ArrowDown" ? 1 : -1);
        rows[i]?.focus();
      }
    });
    return row;
  }

  function toggle(log) {
    const row = tbody.querySelector(`.log-row[data-log-id="${CSS.escape(log.id)}"]`);
    if (!row) return;
    if (expanded.has(log.id)) {
      expanded.get(log.id).remove();
      expanded.delete(log.id);
      row.setAttribute("aria-expanded", "false");
      return;
    }
    const cell = h("td", { colspan: COLUMNS }, h("p.muted", "Loading…"));
    const detail = h("tr.detail-row", { id: `detail-${log.id}` }, cell);
    expanded.set(log.id, detail);
    row.setAttribute("aria-expanded", "true");
    row.after(detail);
    const path = `${ctx.base}/gateways/${seg(state.gateway)}/logs/${seg(log.id)}`;
    loadDetailModule().then(
      (m) => replace(cell, m.renderDetail(path, log)),
      (e) => replace(cell, h("p.muted", `Could not load the detail view: ${e.message}`)),
    );
  }

  setAuto(autoRefresh);
  if (!autoRefresh) load();
  return () => {
    clearInterval(timer);
    runSearch.cancel();
    loadSeq++;
  };
}

/** A labelled group of toggle buttons, one pressed. */
function toggleGroup(label, choices, current, onPick) {
  const buttons = choices.map(([value, text]) =>
    h("button.seg-btn", { type: "button", "data-value": value, "aria-pressed": "false", onclick: () => onPick(value) }, text),
  );
  const el = h("div.seg", { role: "group", "aria-label": label }, buttons);
  return {
    el,
    sync() {
      for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === current()));
    },
  };
}

/** User name for Playground requests, key name with a key icon for virtual keys. */
function sourceCell(source) {
  const kind = source?.kind;
  const name = source?.name || source?.id || "";
  if (kind === "virtual_key") return h("span.src.src-key", { title: "Virtual key" }, keyIcon(), h("span", name || "key"));
  if (kind === "playground") return h("span.src.src-user", { title: "Playground" }, userIcon(), h("span", name || "user"));
  return h("span.src.src-direct", { title: "The caller sent its own provider key" }, "Direct");
}
