"""Virtual keys with the official openai and anthropic SDKs: the key is the SDK's api_key, the
provider sees the gateway's key and never the virtual key, the log names the key; every refusal
in the SDK's own error shape, never forwarded, logged; budgets under concurrency; authenticated
gateways; the keys API's usage and rotation; the `aigw keys` command line."""

from __future__ import annotations

import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest

# Imported at module level only: once the dashboard suite's own conftest is loaded, the name
# `conftest` refers to that one, so an import inside a test would find the wrong module.
from conftest import (
    ACCOUNT,
    AIGW_BIN,
    ANTHROPIC_MODEL,
    GATEWAY_KEYS,
    MOCK_TEXT,
    Proc,
    child_env,
    parse_ready,
    suite_config,
)
from keys_support import BUDGET_MODEL, db_text, keys_gw  # noqa: F401  (fixture)

MESSAGES = [{"role": "user", "content": "Hello"}]


def marker() -> str:
    return uuid.uuid4().hex


def oa(keys_gw, api_key: str, gateway: str = "default") -> openai.OpenAI:
    return openai.OpenAI(base_url=keys_gw.gw.base("openai", gateway), api_key=api_key, max_retries=0, timeout=30)


def assert_never_saw_virtual_keys(received: list[dict]) -> None:
    for r in received:
        for name, value in r["headers"].items():
            assert "aigw_vk_" not in value, f"{name} carried a virtual key upstream"
        assert "aigw_vk_" not in (r["query"] or "")
        assert "aigw_vk_" not in r["body"]


def test_openai_sdk_gets_answers_with_a_virtual_key_and_the_log_names_it(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    assert key["secret"].startswith(f"aigw_vk_{key['id']}_")
    m = marker()
    client = oa(keys_gw, key["secret"])
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m}
    )
    assert raw.parse().choices[0].message.content == MOCK_TEXT
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers={"x-test-marker": m}
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == MOCK_TEXT

    seen = keys_gw.received(m)
    assert len(seen) == 2
    for r in seen:
        assert r["headers"]["authorization"] == f"Bearer {GATEWAY_KEYS['OPENAI_API_KEY']}"
    assert_never_saw_virtual_keys(seen)

    row = keys_gw.gw.log_row(raw.headers["cf-aig-log-id"])
    assert row["source_kind"] == "virtual_key"
    assert row["source_id"] == key["id"]
    assert row["source_name"] == key["name"]
    assert row["source_owner"] == user["name"]
    assert row["success"] == 1

    # The Logs API returns the source and filters by it.
    logs = keys_gw.token_call(
        "GET",
        f"/accounts/{ACCOUNT}/ai-gateway/gateways/default/logs",
        params={"filters.key": "virtual_key_id", "filters.operator": "eq", "filters.value": key["id"]},
    ).json()
    assert logs["result_info"]["total_count"] == 2
    assert logs["result"][0]["source"]["name"] == key["name"]


def test_anthropic_sdk_gets_answers_with_a_virtual_key(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    m = marker()
    client = anthropic.Anthropic(base_url=keys_gw.gw.base("anthropic"), api_key=key["secret"], max_retries=0, timeout=30)
    raw = client.messages.with_raw_response.create(
        model=ANTHROPIC_MODEL, max_tokens=20, messages=MESSAGES, extra_headers={"x-test-marker": m}
    )
    assert raw.parse().content[0].text == MOCK_TEXT
    seen = keys_gw.received(m)
    assert len(seen) == 1
    assert seen[0]["headers"]["x-api-key"] == GATEWAY_KEYS["ANTHROPIC_API_KEY"]
    assert_never_saw_virtual_keys(seen)
    row = keys_gw.gw.log_row(raw.headers["cf-aig-log-id"])
    assert (row["source_kind"], row["source_name"]) == ("virtual_key", key["name"])


def refused_log(keys_gw, err: Exception) -> dict:
    log_id = err.response.headers["cf-aig-log-id"]
    row = keys_gw.gw.log_row(log_id)
    assert row["success"] == 0
    return row


def test_unknown_and_revoked_keys_get_401_and_are_never_forwarded(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    m = marker()
    unknown = f"aigw_vk_{'0' * 16}_{'a' * 48}"
    with pytest.raises(openai.AuthenticationError) as e:
        oa(keys_gw, unknown).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m})
    assert e.value.body["code"] == "invalid_api_key"
    assert refused_log(keys_gw, e.value)["source_kind"] == "virtual_key"

    r = keys_gw.token_call("DELETE", f"{keys_gw.keys_api}/{key['id']}")
    assert r.status_code == 200 and r.json()["result"]["status"] == "revoked"
    with pytest.raises(openai.AuthenticationError) as e:
        oa(keys_gw, key["secret"]).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m}
        )
    assert "revoked" in e.value.message
    row = refused_log(keys_gw, e.value)
    assert (row["status_code"], row["source_name"]) == (401, key["name"])

    with pytest.raises(anthropic.AuthenticationError) as e:
        anthropic.Anthropic(base_url=keys_gw.gw.base("anthropic"), api_key=key["secret"], max_retries=0).messages.create(
            model=ANTHROPIC_MODEL, max_tokens=5, messages=MESSAGES, extra_headers={"x-test-marker": m}
        )
    assert e.value.body["error"]["type"] == "authentication_error"
    assert keys_gw.received(m) == []


def test_rotation_replaces_the_secret_at_once(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    r = keys_gw.token_call("POST", f"{keys_gw.keys_api}/{key['id']}/rotate")
    assert r.status_code == 200, r.text
    rotated = r.json()["result"]["secret"]
    assert rotated != key["secret"] and rotated.startswith(f"aigw_vk_{key['id']}_")
    with pytest.raises(openai.AuthenticationError):
        oa(keys_gw, key["secret"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert oa(keys_gw, rotated).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices
    # The secret is never shown again.
    again = keys_gw.token_call("GET", f"{keys_gw.keys_api}/{key['id']}").json()["result"]
    assert "secret" not in again and again["last_used_at"] is not None


def test_models_and_providers_outside_the_allow_lists_get_403(keys_gw):
    user, _ = keys_gw.new_user()
    m = marker()
    models_only = keys_gw.new_key(user["id"], models=["gpt-4o-mini"])
    with pytest.raises(openai.PermissionDeniedError) as e:
        oa(keys_gw, models_only["secret"]).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-test-marker": m}
        )
    assert "gpt-4o" in e.value.message
    assert refused_log(keys_gw, e.value)["status_code"] == 403
    assert oa(keys_gw, models_only["secret"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices

    anthropic_only = keys_gw.new_key(user["id"], providers=["anthropic"])
    with pytest.raises(openai.PermissionDeniedError) as e:
        oa(keys_gw, anthropic_only["secret"]).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m}
        )
    assert "provider" in e.value.message
    assert keys_gw.received(m) == []


def test_request_rate_limit_gets_429_with_retry_after(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"], rate_limit={"requests_per_minute": 1})
    client = oa(keys_gw, key["secret"])
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert 1 <= int(e.value.response.headers["retry-after"]) <= 60
    assert e.value.body["code"] == "rate_limit_exceeded"
    assert refused_log(keys_gw, e.value)["source_id"] == key["id"]


def test_twenty_concurrent_requests_against_a_budget_for_five_let_five_through(keys_gw):
    user, _ = keys_gw.new_user()
    # Each request may produce 10 output tokens at $1 each: $10; the budget affords five.
    key = keys_gw.new_key(user["id"], budget={"usd": 50, "period": "day"})
    m = marker()
    client = oa(keys_gw, key["secret"])

    def one(_):
        try:
            client.chat.completions.create(
                model=BUDGET_MODEL,
                messages=MESSAGES,
                max_tokens=10,
                extra_headers={"x-test-marker": m, "x-mock-completion-tokens": "10"},
            )
            return "ok"
        except openai.RateLimitError as err:
            return err

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(one, range(20)))
    assert sum(o == "ok" for o in outcomes) == 5
    assert len(keys_gw.received(m)) == 5
    refused = [o for o in outcomes if o != "ok"]
    assert "budget exhausted" in refused[0].message
    assert refused[0].response.headers["x-should-retry"] == "false"
    assert refused_log(keys_gw, refused[0])["source_name"] == key["name"]

    got = keys_gw.token_call("GET", f"{keys_gw.keys_api}/{key['id']}").json()["result"]
    assert got["spend"] == pytest.approx(50.0)
    assert got["spend_period"] == "day"
    usage = keys_gw.token_call("GET", f"{keys_gw.keys_api}/{key['id']}/usage").json()["result"]
    assert usage["total"]["requests"] == 20
    assert usage["total"]["errors"] == 15
    assert usage["total"]["tokens_out"] == 50
    assert usage["total"]["cost"] == pytest.approx(50.0)
    assert len(usage["days"]) == 1


def test_authenticated_gateway_demands_a_key_and_plain_gateways_take_the_callers_own(keys_gw):
    gid = f"auth-{uuid.uuid4().hex[:8]}"
    spec = {
        "id": gid,
        "cache_invalidate_on_update": False,
        "cache_ttl": 0,
        "collect_logs": True,
        "rate_limiting_interval": 0,
        "rate_limiting_limit": 0,
        "authentication": True,
    }
    r = keys_gw.token_call("POST", f"/accounts/{ACCOUNT}/ai-gateway/gateways", json=spec)
    assert r.status_code == 200, r.text
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    m = marker()
    own = "sk-caller-own-key-1234567890"
    with pytest.raises(openai.AuthenticationError) as e:
        oa(keys_gw, own, gid).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m})
    assert e.value.body["code"] == "virtual_key_required"
    assert keys_gw.received(m) == []
    assert oa(keys_gw, key["secret"], gid).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices

    # Authentication off: the caller's own provider key passes through untouched.
    del spec["id"]
    spec["authentication"] = False
    r = keys_gw.token_call("PUT", f"/accounts/{ACCOUNT}/ai-gateway/gateways/{gid}", json=spec)
    assert r.status_code == 200, r.text
    oa(keys_gw, own, gid).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-test-marker": m})
    assert keys_gw.received(m)[0]["headers"]["authorization"] == f"Bearer {own}"


def test_key_validation_errors_use_the_v4_envelope(keys_gw):
    user, _ = keys_gw.new_user()
    cases = [
        ({"owner_id": user["id"]}, "name"),
        ({"name": "x", "owner_id": user["id"], "budget": {"usd": -1}}, "budget"),
        ({"name": "x", "owner_id": user["id"], "budget": {"usd": 1, "period": "year"}}, "budget"),
        ({"name": "x", "owner_id": user["id"], "rate_limit": {"requests_per_minute": 0}}, "rate_limit"),
        ({"name": "x", "owner_id": user["id"], "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "owner_id": user["id"], "colour": "red"}, "colour"),
        ({"name": "x", "owner_id": "nobody"}, "owner_id"),
        ({"name": "x"}, "owner_id"),
    ]
    for body, field in cases:
        r = keys_gw.token_call("POST", keys_gw.keys_api, json=body)
        assert r.status_code == 400, (body, r.text)
        err = r.json()["errors"][0]
        assert err["code"] == 7001 and field in err["path"], (body, err)
    r = keys_gw.token_call("POST", keys_gw.keys_api, content=b"not json")
    assert r.status_code == 400 and r.json()["success"] is False
    assert keys_gw.token_call("GET", f"{keys_gw.keys_api}/nope").status_code == 404


def test_secrets_are_stored_only_as_hashes(keys_gw):
    user, _ = keys_gw.new_user()
    key = keys_gw.new_key(user["id"])
    oa(keys_gw, key["secret"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    secret_part = key["secret"].rsplit("_", 1)[1]
    text = db_text(keys_gw.gw)
    assert secret_part not in text
    assert secret_part not in keys_gw.gw.proc.stderr_text()


def test_keys_command_line_creates_lists_and_revokes(tmp_path, mock_provider):

    config = tmp_path / "aigw.toml"
    config.write_text(suite_config(tmp_path, mock_provider))

    def aigw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(AIGW_BIN), *args, "--config", str(config)],
            env=child_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    out = aigw("users", "create", "--email", "dev@example.com", "--name", "Dev", "--password-stdin", stdin="dev-password-1\n")
    assert out.returncode == 0, out.stderr
    out = aigw("keys", "create", "--name", "ci", "--owner", "dev@example.com", "--rpm", "10", "--budget-usd", "5", "--budget-period", "week")
    assert out.returncode == 0, out.stderr
    secret = out.stdout.strip()
    assert secret.startswith("aigw_vk_")
    key_id = secret.split("_")[2]
    listed = aigw("keys", "list")
    assert key_id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    assert aigw("keys", "revoke", key_id).returncode == 0
    assert "revoked" in aigw("keys", "list").stdout
    bad = aigw("keys", "create", "--name", "x", "--owner", "nobody@example.com")
    assert bad.returncode != 0 and "nobody@example.com" in bad.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "aigw.db") as conn:
        actions = [r[0] for r in conn.execute("SELECT action_description FROM audit_log ORDER BY seq")]
    assert actions == ["Create user", "Create virtual key", "Revoke virtual key"]


def test_me_usage_needs_a_session(keys_gw):
    r = httpx.get(f"{keys_gw.account_api}/ai-gateway/me/usage", headers={"Authorization": "Bearer nope-nope-nope"})
    assert r.status_code == 403
    r = keys_gw.token_call("GET", f"{keys_gw.account_api}/ai-gateway/me/usage")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 7001


def test_spend_survives_a_restart(binaries, tmp_path):
    """The budget's spend is recounted from the logs when aigw starts again."""
    KEYS = GATEWAY_KEYS
    from keys_support import ADMIN_TOKEN, keys_config

    aigw_bin, mock_bin = binaries
    mock_proc = Proc([str(mock_bin), "--listen", "127.0.0.1:0"], child_env(), tmp_path / "mock.stderr")
    mock = mock_proc.wait_line("listening ").split()[1]
    config = tmp_path / "aigw.toml"
    config.write_text(keys_config(tmp_path, mock))
    env = child_env(AIGW_ADMIN_TOKEN=ADMIN_TOKEN, AIGW_ADMIN_EMAIL="r@example.com", AIGW_ADMIN_PASSWORD="restart-pw-1", **KEYS)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def start() -> tuple[Proc, dict]:
        proc = Proc([str(aigw_bin), "serve", "--config", str(config)], env, tmp_path / "aigw.stderr", cwd=tmp_path)
        return proc, parse_ready(proc.wait_line("aigw ready "))

    def ask(urls: dict, secret: str):
        client = openai.OpenAI(base_url=f"{urls['proxy']}/v1/{ACCOUNT}/default/openai", api_key=secret, max_retries=0)
        return client.chat.completions.create(
            model=BUDGET_MODEL, messages=MESSAGES, max_tokens=10, extra_headers={"x-mock-completion-tokens": "10"}
        )

    proc, urls = start()
    try:
        api = f"{urls['admin']}/client/v4/accounts/{ACCOUNT}"
        admin_id = httpx.get(f"{api}/users", headers=auth).json()["result"][0]["id"]
        key = httpx.post(
            f"{api}/ai-gateway/virtual-keys",
            headers=auth,
            json={"name": "restart", "owner_id": admin_id, "budget": {"usd": 20, "period": "total"}},
        ).json()["result"]
        ask(urls, key["secret"])
        ask(urls, key["secret"])
        with pytest.raises(openai.RateLimitError):
            ask(urls, key["secret"])
    finally:
        assert proc.terminate() == 0
    proc, urls = start()
    try:
        with pytest.raises(openai.RateLimitError) as e:
            ask(urls, key["secret"])
        assert "$20.000000 of its $20 total budget" in e.value.message
        got = httpx.get(f"{urls['admin']}/client/v4/accounts/{ACCOUNT}/ai-gateway/virtual-keys/{key['id']}", headers=auth)
        assert got.json()["result"]["spend"] == pytest.approx(20.0)
    finally:
        assert proc.terminate() == 0
        mock_proc.terminate()
