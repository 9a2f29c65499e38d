"""The audit trail, driven with the official `cloudflare` SDK: Audit Logs v2
(`accounts.logs.audit.list`) over a series of admin actions made with the same SDK, the CLI and
plain HTTP, and `aigw audit verify` on a tampered copy of the database.

Contract: /work/shared/CLOUDFLARE-CONTRACT.md sections 2.2, 2.3 and 4; seed 004.

This module runs its own aigw, so the trail holds only what the module did. Every request the
module makes is matched to its record through the `cf-ray` response header (`raw.cf_ray_id`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest

from conftest import (
    ACCOUNT,
    ADMIN_EMAIL,
    ADMIN_TOKEN,
    AIGW_BIN,
    ALL_SECRETS,
    CALLER_OPENAI_KEY,
    GATEWAY_KEYS,
    OTHER_ACCOUNT,
    REPO,
    Proc,
    child_env,
    create_token,
    parse_ready,
    suite_config,
)

HTTP = httpx.Client(timeout=30)
USER_AGENT = "audit-suite/1.0"  # plain HTTP requests; the SDK sends its own
SDK_AGENT = f"Cloudflare/Python {cloudflare.__version__}"
MINIMAL = {
    "cache_invalidate_on_update": False,
    "cache_ttl": 0,
    "collect_logs": True,
    "rate_limiting_interval": 0,
    "rate_limiting_limit": 0,
}
# cloudflare 4.x, installed beside 5.x with `pip install --no-deps --target` (scripts/test.sh).
CLOUDFLARE4 = Path(os.environ.get("AIGW_CLOUDFLARE4", REPO / ".venv" / "cloudflare4"))
# The window every listing uses: yesterday to the day after tomorrow (UTC), as dates.
TODAY = datetime.now(timezone.utc).date()
SINCE = TODAY - timedelta(days=1)
BEFORE = TODAY + timedelta(days=2)


@dataclass
class Expected:
    """What one request should have left in the trail."""

    ray: str
    action_type: str
    result: str
    status: int
    method: str
    description: str
    token: str | None  # key of `AuditApi.tokens` the actor must be, None for an unknown actor
    resource_id: str | None = None
    context: str | None = "api_token"
    user_agent: str = SDK_AGENT
    kind: str = "gateway"  # resource.type


@dataclass
class AuditApi:
    admin: str
    proxy: str
    config: Path
    db_path: Path
    tokens: dict[str, str]
    token_ids: dict[str, str] = field(default_factory=dict)
    expected: list[Expected] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"{self.admin}/client/v4"

    def client(self, token: str = "write", **kwargs: Any) -> cloudflare.Cloudflare:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 30)
        return cloudflare.Cloudflare(api_token=self.tokens[token], base_url=self.api_base, **kwargs)

    def trail(self, account: str = ACCOUNT, token: str = "read", **params: Any) -> list[Any]:
        """Every record of the window, newest first, in one page."""
        with self.client(token) as cf:
            page = cf.accounts.logs.audit.list(account_id=account, since=SINCE, before=BEFORE, limit=1000, **params)
            assert not (page.result_info and page.result_info.cursors and page.result_info.cursors.after)
            return list(page.result)


@pytest.fixture(scope="module")
def api(binaries, mock_provider, tmp_path_factory) -> AuditApi:
    tmp = tmp_path_factory.mktemp("aigw-audit")
    config = tmp / "aigw.toml"
    config.write_text(suite_config(tmp, mock_provider, extra_accounts=(OTHER_ACCOUNT,)))
    env = child_env(RUST_LOG="info", AIGW_ADMIN_TOKEN=ADMIN_TOKEN, **GATEWAY_KEYS)
    proc = Proc([str(AIGW_BIN), "serve", "--config", str(config)], env, tmp / "aigw.stderr", cwd=tmp)
    urls = parse_ready(proc.wait_line("aigw ready "))
    tokens = {
        "write": ADMIN_TOKEN,
        "read": create_token(config, "reader", "--read-only"),
        "email": create_token(config, "by-email", "--email", ADMIN_EMAIL),
        "other": create_token(config, "other", "--account", OTHER_ACCOUNT),
        "revoked": create_token(config, "short-lived"),
    }
    api = AuditApi(admin=urls["admin"], proxy=urls["proxy"], config=config, db_path=tmp / "aigw.db", tokens=tokens)
    with sqlite3.connect(f"file:{api.db_path}?mode=ro", uri=True) as conn:
        api.token_ids = {name: tid for tid, name in conn.execute("SELECT id, name FROM api_tokens")}
    perform_actions(api)
    yield api
    code = proc.terminate()
    assert code == 0, f"aigw exited with {code}:\n{proc.stderr_text()}"


def ray_of(response: Any) -> str:
    ray = response.headers.get("cf-ray")
    assert ray and len(ray) == 16, f"no cf-ray header: {dict(response.headers)}"
    return ray


def perform_actions(api: AuditApi) -> None:
    """A series of admin actions, each noted with the record it must leave."""
    exp = api.expected
    gid = f"audit-{uuid.uuid4().hex[:8]}"
    with api.client("write") as cf:
        r = cf.ai_gateway.with_raw_response.create(account_id=ACCOUNT, id=gid, **MINIMAL)
        exp.append(Expected(ray_of(r), "create", "success", 200, "POST", "Create gateway", "write", gid))
        r = cf.ai_gateway.with_raw_response.update(gid, account_id=ACCOUNT, **{**MINIMAL, "cache_ttl": 60})
        exp.append(Expected(ray_of(r), "update", "success", 200, "PUT", "Update gateway", "write", gid))

        # A log to patch and delete: one chat completion through the proxy.
        chat = HTTP.post(
            f"{api.proxy}/v1/{ACCOUNT}/{gid}/openai/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]},
            headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}"},
        )
        assert chat.status_code == 200, chat.text
        log_id = chat.headers["cf-aig-log-id"]
        HTTP.post(f"{api.admin}/_aigw/flush").raise_for_status()
        r = cf.ai_gateway.logs.with_raw_response.edit(
            log_id, account_id=ACCOUNT, gateway_id=gid, feedback=1, metadata={"api_key": "sk-never-stored-0123456789"}
        )
        exp.append(Expected(ray_of(r), "update", "success", 200, "PATCH", "Update log", "write", log_id, kind="log"))
        r = cf.ai_gateway.logs.with_raw_response.delete(gid, account_id=ACCOUNT)
        exp.append(Expected(ray_of(r), "delete", "success", 200, "DELETE", "Delete logs", "write", gid, kind="log"))

        # A write that fails: the gateway does not exist.
        with pytest.raises(cloudflare.NotFoundError) as e:
            cf.ai_gateway.delete("no-such-gateway", account_id=ACCOUNT)
        exp.append(
            Expected(ray_of(e.value.response), "delete", "failure", 404, "DELETE", "Delete gateway failed", "write",
                     "no-such-gateway")
        )

    # X-Auth-Email + X-Auth-Key.
    with cloudflare.Cloudflare(
        api_email=ADMIN_EMAIL, api_key=api.tokens["email"], base_url=api.api_base, max_retries=0
    ) as cf:
        r = cf.ai_gateway.with_raw_response.update(gid, account_id=ACCOUNT, **MINIMAL)
        exp.append(Expected(ray_of(r), "update", "success", 200, "PUT", "Update gateway", "email", gid, "api_key"))

    # Denials: read-only token writing, another account's token, an unknown token, no token.
    with api.client("read") as cf, pytest.raises(cloudflare.PermissionDeniedError) as e:
        cf.ai_gateway.delete(gid, account_id=ACCOUNT)
    exp.append(Expected(ray_of(e.value.response), "delete", "failure", 403, "DELETE", "Permission denied", "read", gid))
    with api.client("other") as cf, pytest.raises(cloudflare.PermissionDeniedError) as e:
        cf.ai_gateway.list(account_id=ACCOUNT)
    exp.append(Expected(ray_of(e.value.response), "view", "failure", 403, "GET", "Permission denied", "other"))
    with cloudflare.Cloudflare(api_token="aigw_at_" + "0" * 48, base_url=api.api_base, max_retries=0) as cf:
        with pytest.raises(cloudflare.PermissionDeniedError) as e:
            cf.ai_gateway.create(account_id=ACCOUNT, id="never", **MINIMAL)
    exp.append(Expected(ray_of(e.value.response), "create", "failure", 403, "POST", "Permission denied", None))
    r = HTTP.get(f"{api.api_base}/accounts/{ACCOUNT}/ai-gateway/gateways", headers={"user-agent": USER_AGENT})
    assert r.status_code == 401
    exp.append(
        Expected(ray_of(r), "view", "failure", 401, "GET", "Authentication failed", None, context=None,
                 user_agent=USER_AGENT)
    )
    # A failed write with a secret in its query string (limit 0: 400) is recorded redacted.
    r = HTTP.delete(
        f"{api.api_base}/accounts/{ACCOUNT}/ai-gateway/gateways/{gid}/logs",
        params={"api_key": GATEWAY_KEYS["OPENAI_API_KEY"], "limit": "0"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "user-agent": USER_AGENT},
    )
    assert r.status_code == 400, r.text
    exp.append(
        Expected(ray_of(r), "delete", "failure", 400, "DELETE", "Delete log failed", "write", gid, user_agent=USER_AGENT,
                 kind="log")
    )

    with api.client("write") as cf:
        r = cf.ai_gateway.with_raw_response.delete(gid, account_id=ACCOUNT)
        exp.append(Expected(ray_of(r), "delete", "success", 200, "DELETE", "Delete gateway", "write", gid))

    # The CLI revokes a token; that token is then refused.
    out = subprocess.run(
        [str(AIGW_BIN), "tokens", "revoke", api.token_ids["short-lived"], "--config", str(api.config)],
        env=child_env(), capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr


def by_ray(records: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in records:
        out.setdefault(r.raw.cf_rayid, []).append(r)
    return out


def test_every_action_appears_once_with_its_actor_result_and_raw_fields(api):
    records = api.trail()
    rays = by_ray(records)
    for e in api.expected:
        found = rays.get(e.ray, [])
        assert len(found) == 1, f"{e}: {len(found)} records"
        r = found[0]
        assert (r.action.type, r.action.result, r.action.description) == (e.action_type, e.result, e.description), e
        assert (r.raw.status_code, r.raw.method, r.raw.user_agent) == (e.status, e.method, e.user_agent), e
        assert r.raw.uri.startswith(f"/client/v4/accounts/{ACCOUNT}/"), r.raw.uri
        assert r.account.id == ACCOUNT and r.account.name == ACCOUNT
        assert r.actor.ip_address == "127.0.0.1"
        assert r.actor.context == e.context, e
        assert r.resource.product == "ai_gateway" and r.resource.scope == "accounts"
        assert r.resource.type == e.kind, e
        if e.resource_id:
            assert r.resource.id == e.resource_id, e
        if e.token is None:
            assert (r.actor.type, r.actor.id, r.actor.token_id) == ("user", None, None), e
        else:
            name = {"write": "AIGW_ADMIN_TOKEN", "read": "reader", "email": "by-email", "other": "other"}[e.token]
            assert r.actor.type == "account", e
            assert (r.actor.token_id, r.actor.token_name) == (api.token_ids[name], name), e
            assert r.actor.id == (OTHER_ACCOUNT if e.token == "other" else ACCOUNT), e
        assert datetime.now(timezone.utc) - r.action.time < timedelta(minutes=10)
    email = next(r for r in records if r.raw.cf_rayid == api.expected[5].ray)
    assert email.actor.email == ADMIN_EMAIL
    # The CLI's and aigw's own actions are in the trail too, with no HTTP request behind them.
    system = [r for r in records if r.actor.type == "system"]
    summary = sorted((r.actor.id, r.action.description, r.resource.product, r.resource.id) for r in system)
    created = [("cli", "Create token", "tokens", api.token_ids[n]) for n in ("by-email", "reader", "short-lived")]
    assert summary == sorted(
        [*created, ("cli", "Revoke token", "tokens", api.token_ids["short-lived"]),
         ("aigw", "Create token from AIGW_ADMIN_TOKEN", "tokens", api.token_ids["AIGW_ADMIN_TOKEN"])]
    ), summary
    assert all(r.raw.method is None and r.action.result == "success" for r in system)
    # Nothing else: every record is one this module caused.
    assert len(records) == len(api.expected) + len(system)
    # Newest first by default.
    times = [r.action.time for r in records]
    assert times == sorted(times, reverse=True)


def test_the_trail_holds_no_secret(api):
    with sqlite3.connect(f"file:{api.db_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT * FROM audit_log").fetchall()
    dump = json.dumps([[c if not isinstance(c, bytes) else c.hex() for c in row] for row in rows])
    for secret in [*api.tokens.values(), *ALL_SECRETS, "sk-never-stored-0123456789"]:
        assert secret not in dump
    by = by_ray(api.trail())
    patch = by[api.expected[2].ray][0]
    assert patch.resource.request == {"feedback": 1, "metadata": {"api_key": "[REDACTED]"}}
    assert patch.resource.response["feedback"] == 1
    assert patch.resource.response["metadata"] == {"api_key": "[REDACTED]"}
    leaky = by[api.expected[-2].ray][0]
    assert leaky.raw.uri.endswith("/logs?api_key=[REDACTED]&limit=0"), leaky.raw.uri


def test_not_filters_exclude(api):
    everything = api.trail()
    failures = {e.ray for e in api.expected if e.result == "failure"}

    def rays(**params: Any) -> set[str]:
        return {r.raw.cf_rayid for r in api.trail(**params)}

    assert rays(action_result={"not": ["success"]}) == failures
    assert not rays(action_result={"not": ["success", "failure"]})
    kept = rays(action_type={"not": ["create", "update"]})
    assert kept and all(r.action.type in ("delete", "view") for r in everything if r.raw.cf_rayid in kept)
    first, second = api.expected[0].ray, api.expected[1].ray
    assert rays(raw_cf_rayid={"not": [first, second]}) == {r.raw.cf_rayid for r in everything} - {first, second}
    assert not rays(raw_status_code={"not": [200, 400, 401, 403, 404]}) - {
        r.raw.cf_rayid for r in everything if r.raw.status_code is None
    }
    write_id = api.token_ids["AIGW_ADMIN_TOKEN"]
    assert all(r.actor.token_id != write_id for r in api.trail(actor_token_id={"not": [write_id]}))
    some = everything[3].id
    assert some not in {r.id for r in api.trail(id={"not": [some]})}
    assert some not in {r.id for r in api.trail(audit_log_id={"not": [some]})}
    assert all(r.actor.type != "system" for r in api.trail(actor_type={"not": ["system"]}))
    assert all(r.raw.method != "DELETE" for r in api.trail(raw_method={"not": ["DELETE"]}))
    assert all(r.resource.product != "tokens" for r in api.trail(resource_product={"not": ["tokens"]}))
    # Zones are always empty: excluding one excludes nothing.
    assert len(api.trail(zone_name={"not": ["example.com"]})) == len(everything)


def test_positive_filters_include_through_extra_query(api):
    everything = api.trail()
    creates = api.trail(extra_query={"action_type": "create"})
    assert creates and {r.id for r in creates} == {r.id for r in everything if r.action.type == "create"}
    two = [api.expected[0].ray, api.expected[4].ray]
    assert {r.raw.cf_rayid for r in api.trail(extra_query={"raw_cf_ray_id": two})} == set(two)
    denied = api.trail(extra_query={"action_result": "failure", "raw_status_code": ["403"]})
    assert {r.raw.cf_rayid for r in denied} == {e.ray for e in api.expected if e.status == 403}
    gid = api.expected[0].resource_id
    on_gateway = api.trail(extra_query={"resource_id": gid, "resource_type": "gateway"})
    assert {r.raw.cf_rayid for r in on_gateway} == {
        e.ray for e in api.expected if e.resource_id == gid and e.kind == "gateway"
    }
    cli = api.trail(extra_query={"actor_id": "cli", "product_category": "access_management"})
    assert len(cli) == 4 and all(r.resource.product == "tokens" for r in cli)
    # Positive and negative forms combine (both in extra_query: it replaces a parameter of the same
    # name, and the SDK keeps `action_type={"not": [...]}` under the name `action_type`).
    assert not api.trail(extra_query={"action_type": "create", "action_type.not": "create"})
    both = api.trail(extra_query={"action_type": ["create", "update"]}, action_result={"not": ["failure"]})
    assert {r.id for r in both} == {
        r.id for r in everything if r.action.type in ("create", "update") and r.action.result == "success"
    }


def test_cursor_iteration_visits_every_record_once_in_both_directions(api):
    everything = [r.id for r in api.trail()]
    assert len(everything) > 10
    with api.client("read") as cf:
        for direction, expected in (("desc", everything), ("asc", everything[::-1])):
            for limit in (1, 3.0, 7):
                pages = cf.accounts.logs.audit.list(
                    account_id=ACCOUNT, since=SINCE, before=BEFORE, limit=limit, direction=direction
                )
                first = pages.result_info
                assert first.cursors.after and first.cursor == first.cursors.after
                seen = [r.id for r in pages]  # the SDK follows result_info.cursors.after
                assert seen == expected, (direction, limit)


def test_cloudflare4_iterates_with_result_info_cursor(api):
    if not (CLOUDFLARE4 / "cloudflare" / "__init__.py").is_file():
        pytest.skip(f"cloudflare 4.x not installed at {CLOUDFLARE4} (scripts/test.sh installs it)")
    script = """
import json, sys
import cloudflare
assert cloudflare.__version__.startswith("4."), cloudflare.__version__
base, token, account, since, before = sys.argv[1:]
cf = cloudflare.Cloudflare(api_token=token, base_url=base, max_retries=0)
out = {}
for direction in ("desc", "asc"):
    page = cf.accounts.logs.audit.list(account_id=account, since=since, before=before, limit=2, direction=direction)
    out[direction] = [r.id for r in page]  # SyncCursorLimitPagination: result_info.cursor
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(CLOUDFLARE4)}
    out = subprocess.run(
        [sys.executable, "-c", script, api.api_base, api.tokens["read"], ACCOUNT, SINCE.isoformat(), BEFORE.isoformat()],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    pages = json.loads(out.stdout)
    everything = [r.id for r in api.trail()]
    assert pages["desc"] == everything
    assert pages["asc"] == everything[::-1]


def test_since_and_before_are_required(api):
    url = f"{api.api_base}/accounts/{ACCOUNT}/logs/audit"
    auth = {"authorization": f"Bearer {api.tokens['read']}"}
    for params, missing in (({"before": "2030-01-01"}, "since"), ({"since": "2020-01-01"}, "before"), ({}, "since")):
        r = HTTP.get(url, params=params, headers=auth)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["success"] is False and body["errors"][0]["code"] == 7001, body
        assert body["errors"][0]["path"] == ["query", missing], body
    with api.client("read") as cf, pytest.raises(cloudflare.BadRequestError) as e:
        cf.accounts.logs.audit.list(account_id=ACCOUNT, since="last tuesday", before=BEFORE)
    assert e.value.body["errors"][0]["code"] == 7001
    # RFC 3339 instants work as well as dates; the window is since <= time < before.
    now = datetime.now(timezone.utc)
    with api.client("read") as cf:
        recent = cf.accounts.logs.audit.list(account_id=ACCOUNT, since=now - timedelta(hours=1), before=now + timedelta(minutes=5))
        assert len(recent.result) == len(api.trail())
        assert not cf.accounts.logs.audit.list(account_id=ACCOUNT, since="2001-01-01", before="2001-01-02").result


def test_a_token_reads_only_its_own_account(api):
    with api.client("other") as cf:
        with pytest.raises(cloudflare.PermissionDeniedError):
            cf.accounts.logs.audit.list(account_id=ACCOUNT, since=SINCE, before=BEFORE)
    theirs = api.trail(account=OTHER_ACCOUNT, token="other")
    assert theirs and all(r.account.id == OTHER_ACCOUNT for r in theirs)
    assert [r.action.description for r in theirs] == ["Create token"]


def test_verify_names_the_tampered_record(api, tmp_path):
    ok = run_verify(api.config)
    assert ok.returncode == 0, ok.stderr
    assert "audit trail intact" in ok.stdout

    # A copy of the live database (SQLite's backup API), edited behind aigw's back.
    copy = tmp_path / "tampered.db"
    with sqlite3.connect(f"file:{api.db_path}?mode=ro", uri=True) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    victim = next(r for r in api.trail() if r.action.result == "failure" and r.raw.status_code == 403)
    with sqlite3.connect(copy) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET action_result = 'success' WHERE id = ?", (victim.id,))
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET action_result = 'success' WHERE id = ?", (victim.id,))
    config = tmp_path / "tampered.toml"
    config.write_text(api.config.read_text().replace(json.dumps(str(api.db_path)), json.dumps(str(copy))))
    bad = run_verify(config)
    assert bad.returncode != 0
    assert victim.id in bad.stderr, bad.stderr
    assert "edited" in bad.stderr, bad.stderr
    assert run_verify(api.config).returncode == 0, "the live trail is untouched"


def run_verify(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(AIGW_BIN), "audit", "verify", "--config", str(config)],
        env=child_env(), capture_output=True, text=True, timeout=60,
    )
