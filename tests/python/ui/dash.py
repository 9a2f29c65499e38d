"""Helpers of the dashboard suite: the admin API as the browser uses it (session cookie + CSRF),
the seeding of logs through the proxy, and aigw runs on past days.

The SDK suite's process helpers (`Proc`, `suite_config`, ...) live in `tests/python/conftest.py`;
they are loaded here by path under their own module name, because two `conftest` modules cannot
import each other by name.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import httpx
from playwright.sync_api import expect

_SUITE_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
_spec = importlib.util.spec_from_file_location("aigw_sdk_suite", _SUITE_CONFTEST)
assert _spec and _spec.loader
suite = importlib.util.module_from_spec(_spec)
sys.modules["aigw_sdk_suite"] = suite
_spec.loader.exec_module(suite)

REPO = suite.REPO
ACCOUNT = suite.ACCOUNT
ARTIFACTS = Path(os.environ.get("AIGW_UI_ARTIFACTS", REPO / "target" / "ui-artifacts"))
CHROMIUM = Path(os.environ.get("AIGW_CHROMIUM", "/usr/bin/chromium"))
# Debian's libfaketime: runs aigw with its wall clock set to a past day (see `run_on_day`).
LIBFAKETIME = Path(
    os.environ.get("AIGW_LIBFAKETIME", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
)

SEARCH_TAG = "Engineering-UI"  # the metadata value three logs of gateway `default` carry
SEED_KEY = "seed-ci-bot"  # a virtual key whose requests are seeded
ADMIN_EMAIL = "ada@example.com"
ADMIN_PASSWORD = "dashboard-suite-Pa55word!"
MOCK_TEXT = suite.MOCK_TEXT
MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to the dashboard."},
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def day_label(day: datetime, now: datetime) -> str:
    """What the Logs page calls the day of `day` (both UTC, as the browser's time zone is)."""
    if day.date() == now.date():
        return "Today"
    if day.date() == (now - timedelta(days=1)).date():
        return "Yesterday"
    label = f"{day:%b} {day.day}"
    return label if day.year == now.year else f"{label}, {day.year}"


# --------------------------------------------------------------------------------------------
# The admin API with a session, as the browser holds it
# --------------------------------------------------------------------------------------------


class Session:
    """A logged-in user of the admin API: the `aigw_session` cookie and the CSRF token."""

    def __init__(self, admin: str, email: str, password: str):
        self.http = httpx.Client(base_url=f"{admin}/client/v4", timeout=30)
        r = self.http.post("/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, f"log-in failed: {r.status_code} {r.text}"
        result = r.json()["result"]
        self.user: dict[str, Any] = result["user"]
        self.csrf: str = result["csrf_token"]
        assert self.http.cookies.get("aigw_session"), "log-in set no aigw_session cookie"

    @property
    def account(self) -> str:
        return self.user["account_id"]

    def ai(self, path: str) -> str:
        return f"/accounts/{self.account}/ai-gateway{path}"

    def get(self, path: str, **kw) -> Any:
        r = self.http.get(self.ai(path), **kw)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        return r.json()

    def post(self, path: str, body: Any) -> Any:
        """POST under `.../ai-gateway`."""
        return self.post_account(f"/ai-gateway{path}", body)

    def post_account(self, path: str, body: Any) -> Any:
        """POST under `/accounts/{account}` (users, for instance)."""
        url = f"/accounts/{self.account}{path}"
        r = self.http.post(url, json=body, headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 200, f"POST {url}: {r.status_code} {r.text}"
        return r.json()["result"]

    def create_key(self, name: str, **fields: Any) -> dict[str, Any]:
        created = self.post("/virtual-keys", {"name": name, **fields})
        assert created["secret"].startswith("aigw_vk_"), created
        return created

    def playground_chat(self, gateway: str, model: str, text: str) -> str:
        """One streamed Playground chat; returns its log id once the stream has ended."""
        body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": True}
        with self.http.stream(
            "POST",
            self.ai(f"/gateways/{gateway}/playground/chat/completions"),
            json=body,
            headers={"X-CSRF-Token": self.csrf},
        ) as r:
            assert r.status_code == 200, f"playground: {r.status_code} {r.read()!r}"
            log_id = r.headers.get("cf-aig-log-id")
            text_out = "".join(_deltas(r.iter_lines()))
        assert text_out == MOCK_TEXT, text_out
        assert log_id, "the playground answer has no cf-aig-log-id"
        return log_id

    def logs(self, gateway: str, query: str = "") -> dict[str, Any]:
        return self.get(f"/gateways/{gateway}/logs?per_page=50&{query}")

    def close(self) -> None:
        self.http.close()


def _deltas(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            for choice in json.loads(line[5:]).get("choices", []):
                yield (choice.get("delta") or {}).get("content") or ""


# --------------------------------------------------------------------------------------------
# Logs made through the proxy
# --------------------------------------------------------------------------------------------


@dataclass
class Made:
    """A log the suite made, and what the page must show of it."""

    id: str
    gateway: str
    path: str
    model: str
    status: int
    tokens: int | None = None
    cost: float | None = None
    source: str = "Direct"  # what the Source column says
    metadata: dict[str, Any] = field(default_factory=dict)


def proxy_call(
    proxy: str,
    gateway: str,
    route: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    key: str | None = None,
) -> tuple[int, str]:
    """One exchange through the proxy; returns (status, log id)."""
    h = {"content-type": "application/json", **(headers or {})}
    if key:
        h["authorization"] = f"Bearer {key}"
    r = httpx.post(f"{proxy}/v1/{ACCOUNT}/{gateway}/{route}", json=body, headers=h, timeout=30)
    log_id = r.headers.get("cf-aig-log-id")
    assert log_id, f"{route}: no cf-aig-log-id ({r.status_code} {r.text[:200]})"
    return r.status_code, log_id


def chat(proxy: str, gateway: str, metadata: dict[str, Any] | None = None, **headers: str) -> tuple[int, str]:
    h = dict(headers)
    if metadata:
        h["cf-aig-metadata"] = json.dumps(metadata)
    return proxy_call(
        proxy, gateway, "openai/chat/completions", {"model": "gpt-4o-mini", "messages": MESSAGES}, h
    )


def flush(admin: str) -> None:
    r = httpx.post(f"{admin}/_aigw/flush", timeout=30)
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------


def log_in(page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of the picture
    page.screenshot(path=str(path), full_page=True)
    return path
