"""Fixtures of the dashboard suite: one aigw with logs on several days, and headless Chromium.

The gateway is the real binary in front of the mock provider, as in the SDK suite. Its logs are
all made through its proxy (and its Playground endpoint), never written to the database by hand.

Logs on past days: aigw stamps every log with its own wall clock and accepts no backdated logs,
so the suite runs the binary itself on those days. Before the gateway under test starts, the
same binary, on the same database, runs twice under Debian's libfaketime (`LD_PRELOAD`, its wall
clock started at noon UTC five days ago, then yesterday; the monotonic clock untouched), serves
a few requests through its proxy into gateway `history`, drains its writer and stops. The page
then shows them as it would after a gateway ran on those days.

Browser: Debian's `chromium` driven by Playwright (`executable_path`, no browser download), each
test in a fresh context in UTC with en-US formats. Screenshots go to `target/ui-artifacts/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

import dash
from dash import (
    ACCOUNT,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ARTIFACTS,
    CHROMIUM,
    LIBFAKETIME,
    SEARCH_TAG,
    SEED_KEY,
    Made,
    Session,
    chat,
    flush,
    log_in,
    proxy_call,
    suite,
    utc_now,
)

PAST_DAYS = (5, 1)  # history gateway: logs made this many days ago (at noon UTC)
# Gateways besides `default` (which the proxy creates on first use): `history` holds the logs
# of past days, `live` the auto-refresh test's.
GATEWAYS = ("default", "history", "live")


@dataclass
class Dashboard:
    gw: Any  # the SDK suite's Gateway: proxy, admin, db_path, flush(), query()
    config: Path
    admin: Session  # the admin user's API session
    made: dict[str, Made]  # named logs of gateway `default`
    history: list[tuple[datetime, int]]  # gateway `history`: (a time on that day, logs made)

    @property
    def user(self) -> dict[str, Any]:
        return self.admin.user

    def count(self, gateway: str, where: str = "1", params: tuple = ()) -> int:
        """Logs of `gateway` matching the SQL condition, read from the database after a flush."""
        self.gw.flush()
        rows = self.gw.query(
            f"SELECT count(*) AS n FROM logs WHERE account_id = ? AND gateway_id = ? AND ({where})",
            (ACCOUNT, gateway, *params),
        )
        return rows[0]["n"]


def aigw_env(**extra: str) -> dict[str, str]:
    return suite.child_env(**suite.GATEWAY_KEYS, **extra)


def run_on_day(aigw_bin: Path, config: Path, tmp: Path, day: datetime, calls: Callable[[str], None]) -> None:
    """Runs aigw with its wall clock starting at `day` (UTC), lets `calls(proxy)` make requests
    through its proxy, drains its writer and stops it."""
    if not LIBFAKETIME.is_file():
        pytest.fail(f"{LIBFAKETIME} not found: apt-get install -y libfaketime (scripts/test.sh does)")
    env = aigw_env(
        RUST_LOG="warn",
        TZ="UTC",
        LD_PRELOAD=str(LIBFAKETIME),
        FAKETIME=f"@{day:%Y-%m-%d %H:%M:%S}",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
    )
    proc = suite.Proc(
        [str(aigw_bin), "serve", "--config", str(config)], env, tmp / f"aigw-{day:%Y%m%d}.stderr", cwd=tmp
    )
    try:
        urls = suite.parse_ready(proc.wait_line("aigw ready "))
        calls(urls["proxy"])
        flush(urls["admin"])
    finally:
        code = proc.terminate()
    assert code == 0, f"aigw (on {day:%Y-%m-%d}) exited with {code}:\n{proc.stderr_text()}"


def seed_default(gw: Any, admin: Session) -> dict[str, Made]:
    """Gateway `default`: every kind of row the page draws."""
    made: dict[str, Made] = {}
    p = gw.proxy
    tag = {"department": SEARCH_TAG}
    chat_cost = suite.expected_cost("openai", "gpt-4o-mini", 10, 5)
    for name in ("chat", "chat2", "chat3"):
        _, log_id = chat(p, "default", metadata=tag)
        made[name] = Made(log_id, "default", "chat/completions", "gpt-4o-mini", 200, 15, chat_cost, metadata=tag)
    _, log_id = proxy_call(
        p, "default", "openai/chat/completions", {"model": "gpt-4o-mini", "messages": dash.MESSAGES, "stream": True}
    )
    made["stream"] = Made(log_id, "default", "chat/completions", "gpt-4o-mini", 200, 15, chat_cost)
    for status in (500, 429):
        code, log_id = chat(p, "default", **{"x-mock-status": str(status)})
        assert code == status
        made[f"err{status}"] = Made(log_id, "default", "chat/completions", "gpt-4o-mini", status)
    _, log_id = proxy_call(
        p,
        "default",
        "anthropic/v1/messages",
        {
            "model": suite.ANTHROPIC_MODEL,
            "max_tokens": 64,
            "system": "Answer like a pirate.",
            "messages": [{"role": "user", "content": "Where is the treasure?"}],
        },
        {"anthropic-version": "2023-06-01"},
    )
    made["anthropic"] = Made(log_id, "default", "v1/messages", suite.ANTHROPIC_MODEL, 200, 15)
    _, log_id = proxy_call(
        p, "default", "openai/embeddings", {"model": "text-embedding-3-small", "input": "embed me, dashboard"}
    )
    made["embeddings"] = Made(log_id, "default", "embeddings", "text-embedding-3-small", 200)
    _, log_id = chat(p, "default", **{"x-mock-body-bytes": "30000"})
    made["long"] = Made(log_id, "default", "chat/completions", "gpt-4o-mini", 200, 15, chat_cost)

    key = admin.create_key(SEED_KEY)
    for name in ("vk1", "vk2"):
        _, log_id = proxy_call(
            p, "default", "openai/chat/completions", {"model": "gpt-4o-mini", "messages": dash.MESSAGES}, key=key["secret"]
        )
        made[name] = Made(log_id, "default", "chat/completions", "gpt-4o-mini", 200, 15, chat_cost, source=SEED_KEY)

    log_id = admin.playground_chat("default", "openai/gpt-4o-mini", "Hello from the seed")
    made["playground"] = Made(
        log_id, "default", "chat/completions", "gpt-4o-mini", 200, 15, chat_cost, source=admin.user["name"]
    )
    return made


@pytest.fixture(scope="session")
def dashboard(binaries, mock_provider, tmp_path_factory) -> Dashboard:
    aigw_bin, _ = binaries
    tmp = tmp_path_factory.mktemp("aigw-ui")
    config = tmp / "aigw.toml"
    gateways = "".join(f'[[gateways]]\naccount = "{ACCOUNT}"\nid = "{g}"\n' for g in GATEWAYS)
    config.write_text(suite.suite_config(tmp, mock_provider) + gateways)

    now = utc_now()
    history: list[tuple[datetime, int]] = []
    for days_ago in PAST_DAYS:
        day = (now - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)
        n = 3 if days_ago > 1 else 2
        run_on_day(aigw_bin, config, tmp, day, lambda proxy, n=n: [chat(proxy, "history") for _ in range(n)])
        history.append((day, n))

    env = aigw_env(
        RUST_LOG=os.environ.get("AIGW_TEST_RUST_LOG", "info"),
        AIGW_ADMIN_EMAIL=ADMIN_EMAIL,
        AIGW_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    proc = suite.Proc([str(aigw_bin), "serve", "--config", str(config)], env, tmp / "aigw.stderr", cwd=tmp)
    urls = suite.parse_ready(proc.wait_line("aigw ready "))
    gw = suite.Gateway(proxy=urls["proxy"], admin=urls["admin"], mock=mock_provider, db_path=tmp / "aigw.db", proc=proc)
    admin = None
    try:
        admin = Session(gw.admin, ADMIN_EMAIL, ADMIN_PASSWORD)
        for _ in range(2):
            chat(gw.proxy, "history")
        history.append((utc_now(), 2))
        history.sort(key=lambda h: h[0], reverse=True)  # as the page lists them: newest first
        made = seed_default(gw, admin)
        gw.flush()
        for day, n in history[1:]:  # the past days
            start = int(day.replace(hour=0).timestamp() * 1000)
            got = gw.query(
                "SELECT count(*) AS n FROM logs WHERE gateway_id = 'history' AND created_at >= ? AND created_at < ?",
                (start, start + 86_400_000),
            )[0]["n"]
            assert got == n, f"expected {n} logs made on {day:%Y-%m-%d}, found {got}: did libfaketime apply?"
        yield Dashboard(gw=gw, config=config, admin=admin, made=made, history=history)
    finally:
        if admin:
            admin.close()
        code = proc.terminate()
    assert code == 0, f"aigw exited with {code}:\n{proc.stderr_text()}"


# --------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM))
        yield b
        b.close()


@pytest.fixture
def context(browser, dashboard):
    ctx = browser.new_context(
        base_url=dashboard.gw.admin,
        timezone_id="UTC",
        locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=dashboard.gw.admin)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page that fails the test on any script error or Content-Security-Policy violation."""
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on(
        "console",
        lambda m: problems.append(f"console: {m.text}")
        if m.type == "error" and "Content Security Policy" in m.text
        else None,
    )
    yield pg
    assert not problems, "\n".join(problems)


@pytest.fixture
def logged_in(page):
    log_in(page)
    return page
