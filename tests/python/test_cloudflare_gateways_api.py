"""Cloudflare's AI Gateway Gateways API (`/accounts/{account_id}/ai-gateway/gateways`), driven
with the official `cloudflare` SDK, and what a gateway's settings do to the proxy.

Contract: /work/shared/CLOUDFLARE-CONTRACT.md sections 0, 2, 3 and 5.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import cloudflare
import httpx
import pytest

from conftest import ACCOUNT, CALLER_OPENAI_KEY, OTHER_ACCOUNT

HTTP = httpx.Client(timeout=30)

# The create body of the SDK's own tests (contract section 3), less the id.
SDK_EXAMPLE = {
    "cache_invalidate_on_update": True,
    "cache_ttl": 0,
    "collect_logs": True,
    "rate_limiting_interval": 0,
    "rate_limiting_limit": 0,
    "rate_limiting_technique": "fixed",
    "authentication": True,
    "log_management": 10000,
    "log_management_strategy": "STOP_INSERTING",
    "logpush": True,
    "logpush_public_key": "xxxxxxxxxxxxxxxx",
}
MINIMAL = {
    "cache_invalidate_on_update": False,
    "cache_ttl": 0,
    "collect_logs": True,
    "rate_limiting_interval": 0,
    "rate_limiting_limit": 0,
}


def new_id(prefix: str = "gw") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def cf(admin_api):
    client = admin_api.client()
    yield client
    client.close()


def gateways_url(api, account: str = ACCOUNT, gid: str | None = None) -> str:
    url = f"{api.api_base}/accounts/{account}/ai-gateway/gateways"
    return url if gid is None else f"{url}/{gid}"


def bearer(api, token: str = "write") -> dict[str, str]:
    return {"authorization": f"Bearer {api.tokens[token]}"}


def chat(api, gid: str, **headers: str) -> httpx.Response:
    """One chat completion through the proxy to gateway `gid`."""
    return HTTP.post(
        f"{api.gw.base('openai', gid)}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]},
        headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}", **headers},
    )


def stored_logs(api, gid: str) -> int:
    api.gw.flush()
    return api.gw.query("SELECT count(*) AS n FROM logs WHERE gateway_id = ?", (gid,))[0]["n"]


def assert_error(exc: cloudflare.APIStatusError, status: int, code: int, path: list | None = None):
    assert exc.status_code == status, exc.body
    assert exc.body["success"] is False and exc.body["errors"][0]["code"] == code, exc.body
    if path is not None:
        assert exc.body["errors"][0]["path"] == path, exc.body


def rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------------------------
# CRUD
# --------------------------------------------------------------------------------------------


def test_create_with_the_sdk_example_then_get(cf):
    gid = new_id("my-gateway")
    created = cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **SDK_EXAMPLE)
    assert created.id == gid
    for k, v in SDK_EXAMPLE.items():
        assert getattr(created, k) == v, k
    # Read-only fields older SDKs require.
    assert created.account_id == ACCOUNT and created.account_tag == ACCOUNT
    assert uuid.UUID(created.internal_id)
    assert created.created_at == created.modified_at
    assert created.is_default is False
    got = cf.ai_gateway.get(gid, account_id=ACCOUNT)
    assert got.model_dump() == created.model_dump()


def test_raw_envelope_of_create_and_get(admin_api):
    gid = new_id()
    resp = HTTP.post(gateways_url(admin_api), json={"id": gid, **SDK_EXAMPLE}, headers=bearer(admin_api))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    result = body["result"]
    for key in ("id", "account_id", "account_tag", "internal_id", "created_at", "modified_at",
                "cache_invalidate_on_update", "cache_ttl", "collect_logs", "rate_limiting_interval",
                "rate_limiting_limit", "rate_limiting_technique"):
        assert key in result, key
    rfc3339(result["created_at"])
    rfc3339(result["modified_at"])
    resp = HTTP.get(gateways_url(admin_api, gid=gid), headers=bearer(admin_api))
    assert resp.status_code == 200 and resp.json()["result"] == result


def test_optional_settings_round_trip(admin_api, cf):
    gid = new_id()
    extra = {
        "byok_only": False,
        "zdr": True,
        "retry_backoff": "exponential",
        "retry_delay": 500,
        "retry_max_attempts": 3,
        "workers_ai_billing_mode": "postpaid",
        "otel": [{"url": "https://otel.example.com/v1/traces", "headers": {"x-team": "ai"}}],
        "spend_limits": {"enabled": True, "rules": [{"limit": 10, "limitType": "cost", "window": 86400}]},
        "guardrails": {"prompt": {"P1": "FLAG", "S1": "BLOCK"}, "response": {"S2": "FLAG"}},
    }
    created = cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL, **extra)
    got = HTTP.get(gateways_url(admin_api, gid=gid), headers=bearer(admin_api)).json()["result"]
    for k, v in extra.items():
        assert got[k] == v, k
    assert created.id == gid


def test_duplicate_create_is_a_409_and_not_retried(admin_api, cf):
    gid = new_id("dup")
    cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    sent: list[httpx.Request] = []
    client = admin_api.client(max_retries=2, http_client=httpx.Client(event_hooks={"request": [sent.append]}))
    with pytest.raises(cloudflare.ConflictError) as info:
        client.ai_gateway.create(account_id=ACCOUNT, id=gid, **{**MINIMAL, "collect_logs": False})
    client.close()
    assert_error(info.value, 409, 7006)
    assert info.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1, "the SDK retried the conflict"
    # The first gateway is unchanged.
    assert cf.ai_gateway.get(gid, account_id=ACCOUNT).collect_logs is True


def test_list_search_and_pagination(admin_api, cf):
    tag = uuid.uuid4().hex[:8]
    ids = sorted(f"page-{tag}-{i}" for i in range(5))
    for gid in reversed(ids):
        cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    sent: list[httpx.Request] = []
    client = admin_api.client(http_client=httpx.Client(event_hooks={"request": [sent.append]}))
    got = [g.id for g in client.ai_gateway.list(account_id=ACCOUNT, search=tag, per_page=2)]
    client.close()
    assert got == ids, "every match once, ordered by id"
    assert len(sent) == 4  # pages of 2, 2, 1, then the empty page
    page = cf.ai_gateway.list(account_id=ACCOUNT, search=tag, per_page=2, page=3)
    assert [g.id for g in page.result] == ids[4:]
    info = page.result_info.model_dump()
    assert (info["page"], info["per_page"], info["count"], info["total_count"]) == (3, 2, 1, 5)
    beyond = cf.ai_gateway.list(account_id=ACCOUNT, search=tag, page=50)
    assert beyond.result == [] and beyond.result_info.model_dump()["total_count"] == 5
    # Search is a substring of the id.
    assert [g.id for g in cf.ai_gateway.list(account_id=ACCOUNT, search=f"{tag}-3")] == [ids[3]]
    assert list(cf.ai_gateway.list(account_id=ACCOUNT, search=f"none-{tag}")) == []
    # LIKE wildcards in the search are literal.
    assert list(cf.ai_gateway.list(account_id=ACCOUNT, search=f"page_{tag}")) == []
    assert list(cf.ai_gateway.list(account_id=ACCOUNT, search="%")) == []
    # Without a search every gateway of the account is listed, up to 100 a page.
    every = cf.ai_gateway.list(account_id=ACCOUNT, per_page=100)
    assert set(ids) <= {g.id for g in every.result}
    assert all(g.account_id == ACCOUNT for g in every.result)


def test_update_replaces_the_settings(cf):
    gid = new_id("upd")
    created = cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **SDK_EXAMPLE)
    updated = cf.ai_gateway.update(
        gid,
        account_id=ACCOUNT,
        cache_invalidate_on_update=False,
        cache_ttl=3600,
        collect_logs=False,
        rate_limiting_interval=60,
        rate_limiting_limit=100,
        rate_limiting_technique="sliding",
        log_management=20000,
        log_management_strategy="DELETE_OLDEST",
    )
    assert updated.id == gid
    assert (updated.cache_ttl, updated.collect_logs, updated.cache_invalidate_on_update) == (3600, False, False)
    assert (updated.rate_limiting_interval, updated.rate_limiting_limit) == (60, 100)
    assert updated.rate_limiting_technique == "sliding"
    assert (updated.log_management, updated.log_management_strategy) == (20000, "DELETE_OLDEST")
    assert updated.internal_id == created.internal_id and updated.created_at == created.created_at
    assert updated.modified_at >= created.modified_at
    assert cf.ai_gateway.get(gid, account_id=ACCOUNT).model_dump() == updated.model_dump()
    # Nulls where the schema allows them.
    nulled = cf.ai_gateway.update(
        gid, account_id=ACCOUNT, cache_invalidate_on_update=False, cache_ttl=None, collect_logs=True,
        rate_limiting_interval=None, rate_limiting_limit=None, rate_limiting_technique=None,
    )
    assert (nulled.cache_ttl, nulled.rate_limiting_interval, nulled.rate_limiting_limit) == (None, None, None)


def test_delete_returns_the_gateway_and_then_it_is_gone(admin_api, cf):
    gid = new_id("del")
    created = cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    assert chat(admin_api, gid).status_code == 200
    assert stored_logs(admin_api, gid) == 1
    deleted = cf.ai_gateway.delete(gid, account_id=ACCOUNT)
    assert deleted.id == gid and deleted.internal_id == created.internal_id
    for call in (
        lambda: cf.ai_gateway.get(gid, account_id=ACCOUNT),
        lambda: cf.ai_gateway.delete(gid, account_id=ACCOUNT),
        lambda: cf.ai_gateway.update(gid, account_id=ACCOUNT, **MINIMAL),
        lambda: cf.ai_gateway.logs.list(gid, account_id=ACCOUNT),
    ):
        with pytest.raises(cloudflare.NotFoundError) as info:
            call()
        assert_error(info.value, 404, 7002)
    assert gid not in {g.id for g in cf.ai_gateway.list(account_id=ACCOUNT, search=gid)}
    # The id is free again, and the new gateway does not inherit the old one's logs.
    assert cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL).internal_id != created.internal_id
    assert list(cf.ai_gateway.logs.list(gid, account_id=ACCOUNT)) == []


def test_unknown_gateway_is_a_404(cf):
    for call in (
        lambda: cf.ai_gateway.get("no-such-gateway", account_id=ACCOUNT),
        lambda: cf.ai_gateway.update("no-such-gateway", account_id=ACCOUNT, **MINIMAL),
        lambda: cf.ai_gateway.delete("no-such-gateway", account_id=ACCOUNT),
        lambda: cf.ai_gateway.get("x" * 65, account_id=ACCOUNT),
    ):
        with pytest.raises(cloudflare.NotFoundError) as info:
            call()
        assert_error(info.value, 404, 7002)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,path",
    [
        ({k: v for k, v in MINIMAL.items() if k != "collect_logs"}, ["body", "collect_logs"]),
        ({k: v for k, v in MINIMAL.items() if k != "cache_ttl"}, ["body", "cache_ttl"]),
        ({**MINIMAL, "cache_ttl": -1}, ["body", "cache_ttl"]),
        ({**MINIMAL, "cache_ttl": "long"}, ["body", "cache_ttl"]),
        ({**MINIMAL, "collect_logs": "yes"}, ["body", "collect_logs"]),
        ({**MINIMAL, "rate_limiting_limit": -5}, ["body", "rate_limiting_limit"]),
        ({**MINIMAL, "rate_limiting_technique": "burst"}, ["body", "rate_limiting_technique"]),
        ({**MINIMAL, "log_management": 5}, ["body", "log_management"]),
        ({**MINIMAL, "log_management": 10_000_001}, ["body", "log_management"]),
        ({**MINIMAL, "log_management_strategy": "KEEP"}, ["body", "log_management_strategy"]),
        ({**MINIMAL, "logpush_public_key": "short"}, ["body", "logpush_public_key"]),
        ({**MINIMAL, "retry_delay": 60_001}, ["body", "retry_delay"]),
        ({**MINIMAL, "retry_max_attempts": 6}, ["body", "retry_max_attempts"]),
        ({**MINIMAL, "account_id": "x"}, ["body", "account_id"]),
    ],
)
def test_create_and_update_validate_the_body(admin_api, cf, body, path):
    gid = new_id("bad")
    resp = HTTP.post(gateways_url(admin_api), json={"id": gid, **body}, headers=bearer(admin_api))
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert (err["code"], err["path"]) == (7001, path), resp.text
    with pytest.raises(cloudflare.NotFoundError):
        cf.ai_gateway.get(gid, account_id=ACCOUNT)
    # The same body on update of an existing gateway.
    existing = new_id("upd-bad")
    cf.ai_gateway.create(account_id=ACCOUNT, id=existing, **MINIMAL)
    resp = HTTP.put(gateways_url(admin_api, gid=existing), json=body, headers=bearer(admin_api))
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"][0]["path"] == path
    assert cf.ai_gateway.get(existing, account_id=ACCOUNT).model_dump(include=set(MINIMAL)) == MINIMAL


@pytest.mark.parametrize("gid", ["", "has space", "slash/inside", "ünïcode", "x" * 65, 42, None])
def test_create_refuses_a_bad_id(admin_api, gid):
    resp = HTTP.post(gateways_url(admin_api), json={"id": gid, **MINIMAL}, headers=bearer(admin_api))
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert (err["code"], err["path"]) == (7001, ["body", "id"])


def test_create_through_the_sdk_with_a_bad_value_is_a_bad_request(cf):
    with pytest.raises(cloudflare.BadRequestError) as info:
        cf.ai_gateway.create(account_id=ACCOUNT, id=new_id(), **{**MINIMAL, "log_management": 5})
    assert_error(info.value, 400, 7001, ["body", "log_management"])


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b"null", b'"text"', b"{", b'{"id": "x"', b"\xff\xfe", b'{"id": {"a": 1}}',
     json.dumps({"id": "huge", **MINIMAL, "cache_ttl": 10**30}).encode(),
     json.dumps({"id": "float", **MINIMAL, "cache_ttl": 1.5}).encode()],
)
def test_garbage_bodies_are_400_never_500(admin_api, content):
    for method, url in (("POST", gateways_url(admin_api)), ("PUT", gateways_url(admin_api, gid="default"))):
        resp = HTTP.request(
            method, url, content=content, headers={**bearer(admin_api), "content-type": "application/json"}
        )
        assert resp.status_code == 400, (method, content, resp.text)
        assert resp.json()["errors"][0]["code"] == 7001


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "per_page=abc", "page=0", "page=-1", "page=x"])
def test_list_refuses_bad_paging(admin_api, query):
    resp = HTTP.get(f"{gateways_url(admin_api)}?{query}", headers=bearer(admin_api))
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert err["code"] == 7001 and err["path"] == ["query", query.split("=")[0]]


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------


def test_read_only_token_lists_and_gets_but_cannot_change(admin_api, cf):
    gid = new_id("ro")
    cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    ro = admin_api.client("read")
    assert ro.ai_gateway.get(gid, account_id=ACCOUNT).id == gid
    assert gid in {g.id for g in ro.ai_gateway.list(account_id=ACCOUNT, search=gid)}
    for call in (
        lambda: ro.ai_gateway.create(account_id=ACCOUNT, id=new_id("ro-new"), **MINIMAL),
        lambda: ro.ai_gateway.update(gid, account_id=ACCOUNT, **{**MINIMAL, "collect_logs": False}),
        lambda: ro.ai_gateway.delete(gid, account_id=ACCOUNT),
    ):
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            call()
        assert_error(info.value, 403, 10000)
    ro.close()
    assert cf.ai_gateway.get(gid, account_id=ACCOUNT).collect_logs is True


def test_accounts_are_separate(admin_api, cf):
    gid = new_id("mine")
    cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    other = admin_api.client("other")
    assert gid not in {g.id for g in other.ai_gateway.list(account_id=OTHER_ACCOUNT, per_page=100)}
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.get(gid, account_id=OTHER_ACCOUNT)
    for call in (
        lambda: other.ai_gateway.get(gid, account_id=ACCOUNT),
        lambda: other.ai_gateway.list(account_id=ACCOUNT),
        lambda: other.ai_gateway.update(gid, account_id=ACCOUNT, **MINIMAL),
        lambda: other.ai_gateway.delete(gid, account_id=ACCOUNT),
    ):
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            call()
        assert_error(info.value, 403, 10000)
    # The same id in the other account is another gateway: no conflict.
    theirs = other.ai_gateway.create(account_id=OTHER_ACCOUNT, id=gid, **{**MINIMAL, "cache_ttl": 60})
    assert theirs.account_id == OTHER_ACCOUNT
    mine = cf.ai_gateway.get(gid, account_id=ACCOUNT)
    assert mine.cache_ttl == 0 and mine.internal_id != theirs.internal_id
    other.ai_gateway.delete(gid, account_id=OTHER_ACCOUNT)
    other.close()
    assert cf.ai_gateway.get(gid, account_id=ACCOUNT).id == gid


# --------------------------------------------------------------------------------------------
# What the settings do to the proxy
# --------------------------------------------------------------------------------------------


def test_collect_logs_false_leaves_no_logs(admin_api, cf):
    gid = new_id("nolog")
    cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **{**MINIMAL, "collect_logs": False})
    resp = chat(admin_api, gid, **{"cf-aig-event-id": f"ev-{gid}"})
    assert resp.status_code == 200 and resp.json()["choices"]
    assert "cf-aig-log-id" not in resp.headers
    assert stored_logs(admin_api, gid) == 0
    assert list(cf.ai_gateway.logs.list(gid, account_id=ACCOUNT)) == []
    assert admin_api.gw.query("SELECT count(*) AS n FROM logs WHERE event_id = ?", (f"ev-{gid}",))[0]["n"] == 0
    # A request may still ask for its own log.
    resp = chat(admin_api, gid, **{"cf-aig-collect-log": "true"})
    assert resp.status_code == 200 and resp.headers.get("cf-aig-log-id")
    admin_api.gw.flush()
    assert [log.id for log in cf.ai_gateway.logs.list(gid, account_id=ACCOUNT)] == [resp.headers["cf-aig-log-id"]]
    # Turning logs on applies to the very next request.
    cf.ai_gateway.update(gid, account_id=ACCOUNT, **MINIMAL)
    resp = chat(admin_api, gid)
    assert resp.status_code == 200 and resp.headers.get("cf-aig-log-id")
    admin_api.gw.flush()
    assert len(list(cf.ai_gateway.logs.list(gid, account_id=ACCOUNT))) == 2
    # And off again.
    cf.ai_gateway.update(gid, account_id=ACCOUNT, **{**MINIMAL, "collect_logs": False})
    assert "cf-aig-log-id" not in chat(admin_api, gid).headers
    assert stored_logs(admin_api, gid) == 2


def test_proxy_serves_created_gateways_and_refuses_unknown_and_deleted_ones(admin_api, cf):
    gid = new_id("px")
    unknown = chat(admin_api, gid)
    assert unknown.status_code == 404, unknown.text
    cf.ai_gateway.create(account_id=ACCOUNT, id=gid, **MINIMAL)
    ok = chat(admin_api, gid)
    assert ok.status_code == 200 and ok.headers.get("cf-aig-log-id")
    cf.ai_gateway.delete(gid, account_id=ACCOUNT)
    gone = chat(admin_api, gid)
    assert gone.status_code == 404, gone.text
    # The other account's gateways are not reachable through this account's URL either.
    theirs = new_id("theirs")
    admin_api.client("other").ai_gateway.create(account_id=OTHER_ACCOUNT, id=theirs, **MINIMAL)
    assert chat(admin_api, theirs).status_code == 404
    resp = HTTP.post(
        f"{admin_api.gw.proxy}/v1/{OTHER_ACCOUNT}/{theirs}/openai/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}"},
    )
    assert resp.status_code == 200
    # Deleting the gateway took its logs with it, including that of a request still being
    # written when the delete ran.
    assert stored_logs(admin_api, gid) == 0


def test_zz_no_internal_error_was_logged(admin_api):
    """Nothing above made the admin API fail internally (it logs each 500 once)."""
    assert "admin request failed" not in admin_api.gw.proc.stderr_text()
