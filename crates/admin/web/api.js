// The admin API client: same-origin fetches under /client/v4 with the session cookie, the
// CSRF token on every write, and Cloudflare's v4 envelope unwrapped.

export const API_BASE = "/client/v4";

let csrfToken = null;
let onUnauthorized = () => {};

/** The token the session answered with; sent as X-CSRF-Token on every non-GET request. */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called when a request answers 401 (the session expired or was logged out elsewhere). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function headersFor(method, hasBody, extra) {
  const headers = { Accept: "application/json", ...extra };
  if (hasBody) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return headers;
}

/** The raw fetch (for payloads and streams). Throws ApiError on a non-2xx answer. */
export async function request(path, { method = "GET", body, signal, headers } = {}) {
  const res = await fetch(API_BASE + path, {
    method,
    headers: headersFor(method, body !== undefined, headers),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (!res.ok) {
    let parsed = null;
    const text = await res.text().catch(() => "");
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: the text is the message */
    }
    if (res.status === 401 && !path.startsWith("/auth/login")) onUnauthorized();
    throw new ApiError(res.status, errorMessage(parsed, text, res), parsed);
  }
  return res;
}

// GETs started before the page asked for them (see `prefetch`), by path; each is used once.
const prefetched = new Map();

/**
 * Starts a GET now so that the page's own `call(path)` finds it under way: the Logs page's
 * first list request goes out beside the session check instead of after it.
 */
export function prefetch(path) {
  const pending = request(path);
  pending.catch(() => {}); // a failure is reported to the `call` that takes it, if any
  prefetched.set(path, pending);
}

/** A JSON call: returns the whole envelope `{result, result_info, ...}`. */
export async function call(path, options) {
  const early = !options && prefetched.get(path);
  prefetched.delete(path);
  const res = await (early || request(path, options));
  if (res.status === 204) return { result: null };
  const data = await res.json();
  if (data && data.success === false) {
    throw new ApiError(res.status, errorMessage(data, "", res), data);
  }
  return data;
}

/** A JSON call's `result`. */
export async function get(path, options) {
  return (await call(path, options)).result;
}

/** The message of an error body: v4 envelope, OpenAI/Anthropic error, or the text itself. */
export function errorMessage(body, text, res) {
  if (body && Array.isArray(body.errors) && body.errors.length) {
    return body.errors.map((e) => e.message || String(e.code)).join("; ");
  }
  if (body && body.error) {
    if (typeof body.error === "string") return body.error;
    if (body.error.message) return body.error.message;
  }
  if (body && typeof body.message === "string") return body.message;
  if (text && text.length < 300) return text;
  return res ? `${res.status} ${res.statusText || "error"}` : "Request failed";
}

/** `/accounts/{account}/ai-gateway` for the signed-in user's account. */
export function gatewayBase(account) {
  return `/accounts/${encodeURIComponent(account)}/ai-gateway`;
}

/** `{id, ...}` -> its URL path segment. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
