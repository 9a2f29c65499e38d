// The dashboard's entry point: finds the session (or shows the log-in form), draws the shell
// (navigation, gateway, user) and mounts the page the URL hash names.
//
// Routes: #/logs (optionally ?gateway=ID&log=ID), #/playground, #/keys. Every page module
// exports `mount(container, ctx)` and returns a function that unmounts it.

import { ApiError, call, gatewayBase, get, prefetch, setCsrfToken, setUnauthorizedHandler } from "./api.js";
import { h, replace, store } from "./dom.js";
import { mountLogin } from "./login.js";
import * as logsPage from "./logs.js";

// The Logs page is part of the first load; the others load when first visited.
const PAGES = {
  logs: { title: "Logs", load: () => Promise.resolve(logsPage) },
  playground: { title: "Playground", load: () => import("./playground.js") },
  keys: { title: "Keys", load: () => import("./keys.js") },
};
const GATEWAY_KEY = "aigw.gateway";
const ACCOUNT_KEY = "aigw.account"; // the last session's account, to start the first list early

const root = document.getElementById("app");
let session = null; // {user, csrf_token}
let unmount = null;
let gateways = null; // () => Promise of the account's gateways
let renders = 0; // the latest render, so a page whose module arrives late is not mounted

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query] = hash.split("?");
  return { name: PAGES[name] ? name : "logs", params: new URLSearchParams(query || "") };
}

/** The gateway the pages use: the URL's, else the last one picked, else `default`. */
function currentGateway(params) {
  return params.get("gateway") || store.get(GATEWAY_KEY, "default");
}

function context(params) {
  const user = session.user;
  return {
    user,
    isAdmin: user.role === "admin",
    account: user.account_id,
    base: gatewayBase(user.account_id),
    params,
    gateway: currentGateway(params),
    gateways: () => gateways(),
    setGateway(id) {
      store.set(GATEWAY_KEY, id);
    },
    navigate(hash) {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
  };
}

function shell() {
  const nav = h(
    "nav.nav",
    { "aria-label": "Main" },
    Object.entries(PAGES).map(([name, page]) => h("a", { href: `#/${name}`, "data-page": name }, page.title)),
  );
  const user = session.user;
  return h(
    "div.shell",
    h(
      "header.topbar",
      h("a.brand", { href: "#/logs" }, h("span.logo", { "aria-hidden": "true" }, "A"), "aigw"),
      nav,
      h("div.spacer"),
      h(
        "span.who",
        h("span.who-name", user.name || user.email),
        user.role ? h("span.who-role", user.role) : null,
      ),
      h("button.btn.ghost", { type: "button", onclick: logout }, "Log out"),
    ),
    h("main#main.main"),
  );
}

function render() {
  if (!session) return;
  const { name, params } = route();
  if (!root.querySelector(".shell")) replace(root, shell());
  for (const a of root.querySelectorAll(".nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${PAGES[name].title} · aigw`;
  if (unmount) unmount();
  unmount = null;
  const main = root.querySelector("#main");
  main.replaceChildren();
  const ticket = ++renders;
  PAGES[name].load().then(
    (page) => {
      if (ticket !== renders || !session) return;
      unmount = page.mount(main, context(params)) || null;
    },
    (e) => replace(main, h("p.alert", { role: "alert" }, `Could not load the page: ${e.message}`)),
  );
}

function start(result) {
  session = { user: result.user, csrf_token: result.csrf_token };
  setCsrfToken(result.csrf_token);
  store.set(ACCOUNT_KEY, result.user.account_id);
  let list = null;
  // Asked for on first use (the Logs page asks after its first list is drawn).
  gateways = () => (list = list || get(`${gatewayBase(result.user.account_id)}/gateways?per_page=100`).catch(() => []));
  root.replaceChildren();
  render();
}

function showLogin(message) {
  if (unmount) unmount();
  unmount = null;
  session = null;
  setCsrfToken(null);
  document.title = "Log in · aigw";
  replace(root, mountLogin({ message, onLoggedIn: start }));
}

async function logout() {
  try {
    await call("/auth/logout", { method: "POST", body: {} });
  } catch {
    /* the session may already be gone; log in again either way */
  }
  showLogin();
}

async function boot() {
  setUnauthorizedHandler(() => showLogin("Your session ended. Log in again."));
  const { name, params } = route();
  const account = store.get(ACCOUNT_KEY);
  if (name === "logs" && account && !params.get("log")) {
    prefetch(logsPage.firstListPath(gatewayBase(account), currentGateway(params)));
  }
  try {
    start(await get("/auth/session"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
    } else {
      replace(
        root,
        h(
          "div.boot-error",
          { role: "alert" },
          h("p", `The gateway did not answer: ${e.message}`),
          h("button.btn", { type: "button", onclick: boot }, "Retry"),
        ),
      );
    }
  }
}

window.addEventListener("hashchange", render);
boot();
