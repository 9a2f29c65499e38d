"""The Logs page (seed 003), in headless Chromium against the suite's aigw.

Expected counts are read from aigw's database at assertion time (after a flush), so a test
never depends on how many logs another test added; which logs each filter must show is known
from how the fixture made them (conftest.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from dash import MOCK_TEXT, SEARCH_TAG, SEED_KEY, chat, day_label, flush, log_in, screenshot, utc_now

ROWS = "tr.log-row"


def logs_text(n: int) -> str:
    return f"{n:,} {'log' if n == 1 else 'logs'}"


def open_logs(page: Page, gateway: str = "default") -> None:
    page.goto(f"/#/logs?gateway={gateway}")
    expect(page.locator("table.logs-table")).not_to_have_attribute("aria-busy", "true")


def row(page: Page, log_id: str):
    return page.locator(f'{ROWS}[data-log-id="{log_id}"]')


def rgb(locator, prop: str = "color") -> tuple[int, int, int]:
    value = locator.evaluate(f"e => getComputedStyle(e)['{prop}']")
    r, g, b = (int(x) for x in re.findall(r"\d+", value)[:3])
    return r, g, b


def is_green(c: tuple[int, int, int]) -> bool:
    return c[1] > c[0] + 40 and c[1] > c[2]


def is_red(c: tuple[int, int, int]) -> bool:
    return c[0] > c[1] + 60 and c[0] > c[2] + 40


def test_status_and_source_filters_change_rows_and_total(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    total, rows = page.locator(".total"), page.locator(ROWS)
    expect(total).to_have_text(logs_text(d.count("default")))
    screenshot(page, "logs")

    status = page.get_by_role("group", name="Status")
    status.get_by_role("button", name="Error").click()
    expect(status.get_by_role("button", name="Error")).to_have_attribute("aria-pressed", "true")
    n = d.count("default", "success = 0")
    assert n >= 2
    expect(total).to_have_text(logs_text(n))
    expect(rows).to_have_count(n)
    expect(rows.locator(".chip.err")).to_have_count(n)
    for made in ("err500", "err429"):
        expect(row(page, d.made[made].id)).to_have_class(re.compile(r"\bis-error\b"))

    status.get_by_role("button", name="Success").click()
    n = d.count("default", "success = 1")
    expect(total).to_have_text(logs_text(n))
    expect(rows).to_have_count(min(n, 25))
    expect(rows.locator(".chip.err")).to_have_count(0)
    status.get_by_role("button", name="All").click()
    expect(total).to_have_text(logs_text(d.count("default")))

    source = page.get_by_role("group", name="Source")
    source.get_by_role("button", name="Playground").click()
    n = d.count("default", "source_kind = 'playground'")
    assert n >= 1
    expect(total).to_have_text(logs_text(n))
    expect(rows).to_have_count(n)
    expect(rows.locator(".source")).to_have_text([d.user["name"]] * n)
    expect(row(page, d.made["playground"].id)).to_be_visible()

    source.get_by_role("button", name="Virtual key").click()
    n = d.count("default", "source_kind = 'virtual_key'")
    assert n >= 2
    expect(total).to_have_text(logs_text(n))
    expect(rows).to_have_count(n)
    expect(rows.locator(".source svg[aria-label='Virtual key']")).to_have_count(n)
    for made in ("vk1", "vk2"):
        expect(row(page, d.made[made].id).locator(".source")).to_have_text(SEED_KEY)

    # Filters combine: no virtual-key request of the fixture failed.
    status.get_by_role("button", name="Error").click()
    n = d.count("default", "source_kind = 'virtual_key' AND success = 0")
    expect(total).to_have_text(logs_text(n))
    if n == 0:
        expect(page.locator("tbody")).to_contain_text("No logs match these filters.")


def test_search_is_debounced_partial_and_case_insensitive(page: Page, dashboard):
    d = dashboard
    page.clock.install()  # the debounce runs on a clock the test moves
    log_in(page)
    total = page.locator(".total")
    expect(total).to_have_text(logs_text(d.count("default")))
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/logs?" in r.url and "search=" in r.url else None)

    # The whole word typed with the clock stopped: no request until the typing has paused.
    now_ms = page.evaluate("Date.now()")
    page.clock.pause_at(datetime.fromtimestamp(now_ms / 1000 + 1, timezone.utc))
    box = page.get_by_role("searchbox", name="Search")
    term = SEARCH_TAG.lower()  # metadata value, typed in another case
    box.press_sequentially(term, delay=10)
    page.clock.run_for(250)
    assert searches == []
    page.clock.run_for(100)
    expect(total).to_have_text(logs_text(3))
    expect(page.locator(ROWS)).to_have_count(3)
    assert len(searches) == 1 and f"search={term}" in searches[0], searches
    page.clock.resume()

    def search(text: str, expected: int) -> None:
        box.fill(text)
        expect(total).to_have_text(logs_text(expected))

    search(SEARCH_TAG[3:9].upper(), 3)  # partial, upper case
    search(SEED_KEY.upper(), d.count("default", "source_name = ?", (SEED_KEY,)))  # virtual key name
    expect(page.locator(".source")).to_have_text([SEED_KEY] * 2)
    name = d.user["name"]
    search(name.lower(), d.count("default", "source_name = ?", (name,)))  # user name
    search("CLAUDE-SONNET", d.count("default", "model LIKE '%claude-sonnet%'"))  # model
    search("embeddings", d.count("default", "path LIKE '%embeddings%' OR model LIKE '%embedding%'"))  # endpoint
    search("no-such-thing-anywhere", 0)
    expect(page.locator("tbody")).to_contain_text("No logs match these filters.")
    search("", d.count("default"))


def test_day_headers_group_rows_by_day(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    open_logs(page, "history")
    now = utc_now()
    expected = [day_label(day, now) for day, _ in d.history]
    assert expected[:2] == ["Today", "Yesterday"] and re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}(, \d{4})?", expected[2])
    expect(page.locator("tr.day-row")).to_have_text(expected)
    # Each header is followed by the rows of its day, newest day first.
    sequence = page.locator("tbody > tr").evaluate_all(
        "rows => rows.map(r => r.classList.contains('day-row') ? r.textContent : 'row')"
    )
    groups: list[tuple[str, int]] = []
    for item in sequence:
        if item == "row":
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((item, 0))
    assert groups == [(label, n) for label, (_, n) in zip(expected, d.history)]
    # The past days' rows carry their own times (the gateway ran at noon UTC those days).
    past = d.gw.query("SELECT id, created_at FROM logs WHERE gateway_id = 'history' ORDER BY created_at LIMIT 1")[0]
    at = datetime.fromtimestamp(past["created_at"] / 1000, timezone.utc)
    expect(row(page, past["id"]).locator(".time")).to_have_text(f"{at:%H:%M:%S}")
    screenshot(page, "logs-day-headers")


def test_rows_show_endpoint_model_source_tokens_cost_status_time(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    m = d.made["chat"]
    r = row(page, m.id)
    expect(r.locator(".path")).to_have_text("chat/completions")
    expect(r.locator(".model")).to_have_text("openai · gpt-4o-mini")
    expect(r.locator(".source")).to_have_text("Direct")
    expect(r.locator(".tokens")).to_have_text("15")
    expect(r.locator(".cost")).to_have_text(f"${m.cost:.6f}")
    assert f"${m.cost:.6f}" == "$0.000020"
    chip = r.locator(".chip")
    expect(chip).to_have_text("200")
    assert is_green(rgb(chip)), rgb(chip)
    created = d.gw.log_row(m.id)["created_at"]
    expect(r.locator(".time")).to_have_text(f"{datetime.fromtimestamp(created / 1000, timezone.utc):%H:%M:%S}")

    vk = row(page, d.made["vk1"].id).locator(".source")
    expect(vk).to_have_text(SEED_KEY)
    expect(vk.get_by_role("img", name="Virtual key")).to_be_visible()
    pg = row(page, d.made["playground"].id).locator(".source")
    expect(pg).to_have_text(d.user["name"])
    expect(pg.get_by_role("img", name="Virtual key")).to_have_count(0)

    anthropic = row(page, d.made["anthropic"].id)
    expect(anthropic.locator(".path")).to_have_text("v1/messages")
    expect(anthropic.locator(".model")).to_contain_text("claude-sonnet-4-6")

    failed = row(page, d.made["err500"].id)
    expect(failed).to_have_class(re.compile(r"\bis-error\b"))
    expect(failed.locator(".chip")).to_have_text("500")
    assert is_red(rgb(failed.locator(".chip"))), rgb(failed.locator(".chip"))
    assert is_red(rgb(failed.locator(".path")))
    expect(failed.locator(".cost")).to_have_text("—")


def test_expanding_a_row_shows_the_conversation_response_metadata_and_footer(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    m = d.made["chat"]
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.url) if re.search(r"/logs/[^/?]+(/request|/response)?$", r.url) else None)
    r = row(page, m.id)
    expect(r).to_be_visible()
    assert bodies == [], "bodies were fetched before any row was expanded"

    r.focus()
    page.keyboard.press("Enter")
    expect(r).to_have_attribute("aria-expanded", "true")
    detail = page.locator(f"#detail-{m.id}")
    roles = detail.locator(".conversation .role")
    expect(roles).to_have_text(["system", "user"])
    expect(detail.locator(".conversation .turn-text")).to_have_text(
        ["You are a terse assistant.", "Say hello to the dashboard."]
    )
    colors = {rgb(roles.nth(0)), rgb(roles.nth(1))}
    assert len(colors) == 2, "system and user labels share a colour"
    expect(detail.locator(".response-text")).to_have_text(MOCK_TEXT)
    expect(detail.locator(".metadata")).to_contain_text("department")
    expect(detail.locator(".metadata")).to_contain_text(SEARCH_TAG)
    expect(detail.locator(".error-section")).to_be_hidden()
    stats = detail.locator(".stats .stat")
    expect(stats.nth(0)).to_have_text(re.compile(r"^Latency[\d,]+ ms$"))
    expect(stats.nth(1)).to_have_text("Prompt tokens10")
    expect(stats.nth(2)).to_have_text("Completion tokens5")
    base = f"/logs/{m.id}"
    assert sorted(u.split(f"/{m.gateway}", 1)[1] for u in bodies) == sorted(
        [base, f"{base}/request", f"{base}/response"]
    ), bodies
    screenshot(page, "logs-expanded")

    # Enter again collapses; arrow keys move between rows (this one is the oldest, the last).
    page.keyboard.press("Enter")
    expect(r).to_have_attribute("aria-expanded", "false")
    expect(detail).to_have_count(0)
    page.keyboard.press("ArrowUp")
    expect(r).not_to_be_focused()
    expect(page.locator(f"{ROWS}:focus")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(r).to_be_focused()


def test_expanded_views_of_other_formats(logged_in: Page, dashboard):
    page, d = logged_in, dashboard

    def expand(name: str):
        r = row(page, d.made[name].id)
        r.click()
        expect(r).to_have_attribute("aria-expanded", "true")
        return page.locator(f"#detail-{d.made[name].id}")

    # Not a chat: the request is formatted JSON.
    emb = expand("embeddings")
    expect(emb.locator(".request-section pre.json")).to_contain_text('"input": "embed me, dashboard"')
    expect(emb.locator(".conversation")).to_have_count(0)

    # Anthropic: the top-level system prompt is a turn of its own.
    ant = expand("anthropic")
    expect(ant.locator(".conversation .role")).to_have_text(["system", "user"])
    expect(ant.locator(".conversation .turn-text")).to_have_text(["Answer like a pirate.", "Where is the treasure?"])
    expect(ant.locator(".response-text")).to_have_text(MOCK_TEXT)

    # A stream's stored SSE reads as its text.
    expect(expand("stream").locator(".response-text")).to_have_text(MOCK_TEXT)

    # A long answer scrolls inside its panel.
    long = expand("long").locator(".response-text")
    expect(long).to_contain_text(MOCK_TEXT)
    height, scroll = long.evaluate("e => [e.clientHeight, e.scrollHeight]")
    assert height <= 330 and scroll > height * 2, (height, scroll)

    # A failed request shows its error in red.
    err = expand("err500").locator(".error-section")
    expect(err).to_be_visible()
    box = err.locator(".error-box")
    expect(box).not_to_be_empty()
    assert is_red(rgb(box)), rgb(box)
    screenshot(page, "logs-expanded-formats")


def test_rows_per_page_and_pages(logged_in: Page, dashboard, browser):
    page, d = logged_in, dashboard
    total = d.count("default")
    assert total > 10
    rows = page.locator(ROWS)
    expect(rows).to_have_count(min(total, 25))
    select = page.get_by_label("Rows per page")
    expect(select).to_have_value("25")
    select.select_option("10")
    expect(rows).to_have_count(10)
    pages = -(-total // 10)
    expect(page.locator(".page-of")).to_have_text(f"Page 1 of {pages}")
    first = rows.evaluate_all("rs => rs.map(r => r.dataset.logId)")

    page.get_by_role("button", name="Next").click()
    expect(page.locator(".page-of")).to_have_text(f"Page 2 of {pages}")
    expect(rows).to_have_count(min(10, total - 10))
    second = rows.evaluate_all("rs => rs.map(r => r.dataset.logId)")
    assert not set(first) & set(second)
    expect(page.locator(".total")).to_have_text(logs_text(total))
    page.get_by_role("button", name="Previous").click()
    expect(page.locator(".page-of")).to_have_text(f"Page 1 of {pages}")

    # The choice survives a reload and a new browser session with the same profile.
    page.reload()
    expect(page.get_by_label("Rows per page")).to_have_value("10")
    expect(rows).to_have_count(10)
    state = page.context.storage_state()
    later = browser.new_context(base_url=d.gw.admin, storage_state=state, timezone_id="UTC", locale="en-US")
    try:
        again = later.new_page()
        again.goto("/")
        expect(again.get_by_label("Rows per page")).to_have_value("10")
        expect(again.locator(ROWS)).to_have_count(10)
    finally:
        later.close()


def test_auto_refresh_polls_every_10_seconds_across_pages(page: Page, dashboard):
    d = dashboard
    gateway = "live"
    for _ in range(11):
        chat(d.gw.proxy, gateway)
    flush(d.gw.admin)
    page.clock.install()  # the page's timers run on a clock the test moves
    log_in(page)
    open_logs(page, gateway)
    total = page.locator(".total")
    expect(total).to_have_text(logs_text(11))
    page.get_by_label("Rows per page").select_option("10")

    auto = page.get_by_role("button", name="Auto")
    expect(auto).to_have_attribute("aria-pressed", "false")
    assert not is_green(rgb(auto, "background-color"))
    auto.click()
    expect(auto).to_have_attribute("aria-pressed", "true")
    assert is_green(rgb(auto, "background-color")), rgb(auto, "background-color")

    page.get_by_role("button", name="Next").click()
    expect(page.locator(".page-of")).to_have_text("Page 2 of 2")
    expect(page.locator(ROWS)).to_have_count(1)

    _, new_id = chat(d.gw.proxy, gateway)
    flush(d.gw.admin)
    page.clock.run_for(9_000)
    expect(total).to_have_text(logs_text(11))  # not yet: the poll is every 10 s
    page.clock.run_for(1_000)
    expect(total).to_have_text(logs_text(12))
    expect(page.locator(".page-of")).to_have_text("Page 2 of 2")  # still paging
    expect(page.locator(ROWS)).to_have_count(2)
    page.get_by_role("button", name="Previous").click()
    expect(row(page, new_id)).to_be_visible()
    screenshot(page, "logs-auto-refresh")

    # Off again: no more polling.
    auto.click()
    expect(auto).to_have_attribute("aria-pressed", "false")
    chat(d.gw.proxy, gateway)
    flush(d.gw.admin)
    page.clock.run_for(30_000)
    expect(total).to_have_text(logs_text(12))
    page.get_by_role("button", name="Refresh").click()
    expect(total).to_have_text(logs_text(13))
