// The log-in form: email and password, answered with the session cookie and a CSRF token.

import { ApiError, call } from "./api.js";
import { h } from "./dom.js";

export function mountLogin({ message, onLoggedIn }) {
  const email = h("input#login-email", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input#login-password", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const status = h("p.form-error", { role: "alert" }, message || "");
  const submit = h("button.btn.primary", { type: "submit" }, "Log in");

  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = "";
    try {
      const data = await call("/auth/login", {
        method: "POST",
        body: { email: email.value.trim(), password: password.value },
      });
      onLoggedIn(data.result);
    } catch (e) {
      status.textContent =
        e instanceof ApiError && (e.status === 401 || e.status === 403)
          ? "Wrong email or password."
          : `Could not log in: ${e.message}`;
      password.select();
    } finally {
      submit.disabled = false;
    }
  }

  const form = h(
    "form.login-card",
    { "aria-labelledby": "login-title", onsubmit: onSubmit },
    h("h1#login-title", h("span.logo", { "aria-hidden": "true" }, "A"), "Log in to aigw"),
    h("label", { for: "login-email" }, "Email"),
    email,
    h("label", { for: "login-password" }, "Password"),
    password,
    status,
    submit,
  );
  queueMicrotask(() => email.focus());
  return h("div.login-page", form);
}
