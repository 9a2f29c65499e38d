"""The Playground and Keys pages, and how their requests show on the Logs page."""

from __future__ import annotations

import re

import openai
import pytest
from playwright.sync_api import Page, expect

from dash import ACCOUNT, MOCK_TEXT, SEED_KEY, log_in, screenshot


def test_a_playground_chat_streams_and_shows_as_a_playground_row(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    page.get_by_role("link", name="Playground").click()
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    provider = page.get_by_label("Provider")
    expect(provider.locator("option[value='openai']")).to_have_count(1)
    provider.select_option("openai")
    page.get_by_label("Model").fill("gpt-4o-mini")
    page.get_by_label("System prompt").fill("Be brief.")
    page.get_by_label("Message").fill("What does aigw log?")
    with page.expect_response(lambda r: r.url.endswith("/playground/chat/completions")) as answered:
        page.get_by_role("button", name="Send").click()
    assert answered.value.headers["content-type"].startswith("text/event-stream")
    assert answered.value.request.post_data_json["stream"] is True

    answer = page.locator(".chat .turn[data-role='assistant']").last
    expect(answer.locator(".turn-text")).to_have_text(MOCK_TEXT)
    link = answer.get_by_role("link", name=re.compile(r"^Log "))
    expect(link).to_be_visible()
    log_id = link.locator("code").inner_text()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", log_id), log_id
    expect(answer.locator(".turn-meta")).to_contain_text("15 tokens")
    screenshot(page, "playground")

    stored = d.gw.log_row(log_id)
    assert (stored["source_kind"], stored["source_name"]) == ("playground", d.user["name"])

    # The link opens that log on the Logs page, expanded.
    link.click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    row = page.locator(f'tr.log-row[data-log-id="{log_id}"]')
    expect(row).to_have_attribute("aria-expanded", "true")
    expect(row.locator(".source")).to_have_text(d.user["name"])
    detail = page.locator(f"#detail-{log_id}")
    expect(detail.locator(".conversation .turn-text")).to_have_text(["Be brief.", "What does aigw log?"])
    expect(detail.locator(".response-text")).to_have_text(MOCK_TEXT)
    expect(page.locator(".total")).to_have_text("1 log")

    # And it is among the Playground rows of its gateway.
    page.get_by_role("button", name="Show all logs").click()
    page.get_by_role("group", name="Source").get_by_role("button", name="Playground").click()
    n = d.count("default", "source_kind = 'playground'")
    expect(page.locator(".total")).to_have_text(f"{n} {'log' if n == 1 else 'logs'}")
    expect(page.locator(f'tr.log-row[data-log-id="{log_id}"] .source')).to_have_text(d.user["name"])


def test_a_key_made_on_the_keys_page_works_with_the_openai_sdk(logged_in: Page, dashboard):
    page, d = logged_in, dashboard
    name = "ui-made-key"
    page.get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Requests per minute").fill("120")
    page.get_by_label("Budget (USD)").fill("5")
    page.get_by_role("button", name="Create key").click()

    secret_el = page.locator("code.secret")
    expect(secret_el).to_have_text(re.compile(r"^aigw_vk_\S+$"))
    secret = secret_el.inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".copied")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    key_row = page.locator("tr.key-row", has_text=name)
    expect(key_row).to_contain_text("120 req/min")
    expect(key_row).to_contain_text("$5")
    expect(key_row.locator(".chip")).to_have_text("Active")
    screenshot(page, "keys")

    client = openai.OpenAI(base_url=f"{d.gw.proxy}/v1/{ACCOUNT}/default/openai", api_key=secret, max_retries=0)
    ids = []
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi from the SDK"}]
        )
        assert raw.parse().choices[0].message.content == MOCK_TEXT
        ids.append(raw.headers["cf-aig-log-id"])
    d.gw.flush()

    # Its requests show on the Logs page under the key's name, with the key icon.
    page.get_by_role("link", name="Logs").click()
    page.get_by_role("group", name="Source").get_by_role("button", name="Virtual key").click()
    page.get_by_role("searchbox", name="Search").fill(name)
    expect(page.locator(".total")).to_have_text("2 logs")
    for log_id in ids:
        source = page.locator(f'tr.log-row[data-log-id="{log_id}"] .source')
        expect(source).to_have_text(name)
        expect(source.get_by_role("img", name="Virtual key")).to_be_visible()

    # The secret was shown once: the Keys page and the API no longer carry it.
    page.get_by_role("link", name="Keys").click()
    key_row = page.locator("tr.key-row", has_text=name)
    expect(key_row).to_be_visible()
    assert secret not in page.content()
    assert secret not in d.admin.http.get(d.admin.ai("/virtual-keys")).text

    # Usage: the two requests.
    page.get_by_role("button", name=f"Usage of {name}").click()
    usage = page.locator("tr.usage-row:visible")
    expect(usage).to_contain_text("Requests")
    expect(usage.locator(".stat", has_text="Requests").first.locator("dd")).to_have_text("2")

    # Rotated: a new secret, shown once; the old one stops working.
    page.get_by_role("button", name=f"Rotate {name}").click()
    page.get_by_role("button", name="Confirm rotate").click()
    expect(page.locator(".secret-panel h2")).to_have_text(f'Key "{name}" rotated')
    expect(secret_el).not_to_have_text(secret)
    rotated = secret_el.inner_text()
    assert rotated.startswith("aigw_vk_")
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "old secret"}])
    client = openai.OpenAI(base_url=f"{d.gw.proxy}/v1/{ACCOUNT}/default/openai", api_key=rotated, max_retries=0)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "new"}])

    # Revoked: the row says so and the SDK is refused.
    page.get_by_role("button", name=f"Revoke {name}").click()
    page.get_by_role("button", name="Confirm revoke").click()
    expect(key_row.locator(".chip")).to_have_text("Revoked")
    expect(page.get_by_role("button", name=f"Revoke {name}")).to_have_count(0)
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}])


def test_members_see_their_own_keys_and_admins_see_everyones(browser, logged_in: Page, dashboard):
    admin_page, d = logged_in, dashboard
    member = {"email": "dev@example.com", "name": "Dev Member", "password": "member-Pa55word-2024!", "role": "member"}
    d.admin.post_account("/users", member)
    ctx = browser.new_context(base_url=d.gw.admin, timezone_id="UTC", locale="en-US")
    try:
        page = ctx.new_page()
        log_in(page, member["email"], member["password"])
        expect(page.locator(".who-name")).to_have_text("Dev Member")
        page.get_by_role("link", name="Keys").click()
        page.get_by_label("Name", exact=True).fill("dev-key")
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("code.secret")).to_be_visible()
        rows = page.locator("tr.key-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("dev-key")
        expect(page.get_by_role("columnheader", name="Owner")).to_have_count(0)
        expect(page.get_by_text(SEED_KEY)).to_have_count(0)
        screenshot(page, "keys-member")
    finally:
        ctx.close()

    admin_page.get_by_role("link", name="Keys").click()
    expect(admin_page.get_by_role("columnheader", name="Owner")).to_be_visible()
    dev_row = admin_page.locator("tr.key-row", has_text="dev-key")
    expect(dev_row).to_contain_text("Dev Member")
    expect(admin_page.locator("tr.key-row", has_text=SEED_KEY)).to_be_visible()
