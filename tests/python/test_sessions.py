"""Dashboard users and sessions over HTTP: log-in and its cookie, CSRF, roles (admin writes,
member reads), ownership of keys, log-in rate limiting, the users API, and the audit trail of
all of it."""

from __future__ import annotations

import uuid

import httpx

from conftest import ACCOUNT
from keys_support import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN, OTHER_ACCOUNT, keys_gw  # noqa: F401  (fixture)


def audit_rows(keys_gw, description: str) -> list[dict]:
    return keys_gw.gw.query("SELECT * FROM audit_log WHERE action_description = ? ORDER BY seq", (description,))


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(keys_gw):
    client = httpx.Client(base_url=keys_gw.api, timeout=30)
    r = client.post("/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    user = body["result"]["user"]
    assert (user["email"], user["role"], user["account_id"]) == (ADMIN_EMAIL, "admin", ACCOUNT)
    assert set(user) >= {"id", "email", "name", "role", "account_id"}
    csrf = body["result"]["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("aigw_session=aigw_sess_")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    assert "Secure" not in cookie  # plain HTTP on localhost works

    r = client.get("/auth/session")
    assert r.status_code == 200 and r.json()["result"]["csrf_token"] == csrf
    # The cookie is a credential for every admin endpoint.
    assert client.get(f"/accounts/{ACCOUNT}/ai-gateway/gateways").status_code == 200
    audit = {"since": "2000-01-01", "before": "2100-01-01"}
    assert client.get(f"/accounts/{ACCOUNT}/logs/audit", params=audit).status_code == 200
    # Another account's data is not the user's.
    assert client.get(f"/accounts/{OTHER_ACCOUNT}/ai-gateway/gateways").status_code == 403

    assert client.post("/auth/logout").status_code == 403  # no CSRF token
    r = client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/auth/session").status_code == 401

    rows = audit_rows(keys_gw, "Log out")
    assert rows and rows[-1]["actor_id"] == user["id"] and rows[-1]["actor_context"] == "dash"
    assert audit_rows(keys_gw, "Log in")[-1]["account_id"] == ACCOUNT


def test_bad_credentials_get_401_and_are_audited(keys_gw):
    email = f"ghost-{uuid.uuid4().hex[:6]}@example.com"
    r = httpx.post(f"{keys_gw.api}/auth/login", json={"email": email, "password": "whatever-123"})
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == 10001
    r = httpx.post(f"{keys_gw.api}/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
    assert r.status_code == 401
    assert "set-cookie" not in r.headers
    r = httpx.post(f"{keys_gw.api}/auth/login", json={"email": ADMIN_EMAIL})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 7001
    failed = [row for row in audit_rows(keys_gw, "Log in failed") if row["actor_email"] in (email, ADMIN_EMAIL)]
    assert len(failed) >= 2
    assert all(row["action_result"] == "failure" and row["raw_status_code"] == 401 for row in failed)
    # The password never reaches the trail.
    assert not keys_gw.gw.query("SELECT 1 FROM audit_log WHERE resource_request LIKE '%wrong-password%'")
    assert httpx.get(f"{keys_gw.api}/auth/session").status_code == 401


def test_logins_are_rate_limited(keys_gw):
    user, password = keys_gw.new_user()
    for _ in range(5):
        r = httpx.post(f"{keys_gw.api}/auth/login", json={"email": user["email"], "password": "not-it-000"})
        assert r.status_code == 401
    r = httpx.post(f"{keys_gw.api}/auth/login", json={"email": user["email"], "password": password})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "Too many" in r.json()["errors"][0]["message"]


def test_state_changing_calls_with_the_cookie_need_the_csrf_token(keys_gw):
    admin = keys_gw.admin()
    body = {"name": "csrf-test", "owner_id": admin.user["id"]}
    r = admin.call("POST", keys_gw.keys_api, csrf=False, json=body)
    assert r.status_code == 403
    assert "CSRF" in r.json()["errors"][0]["message"]
    r = admin.call("POST", keys_gw.keys_api, csrf=False, json=body, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = admin.call("POST", keys_gw.keys_api, json=body)
    assert r.status_code == 200, r.text
    # A token caller needs no CSRF token even when a cookie rides along.
    r = admin.client.post(
        keys_gw.keys_api, json={**body, "name": "token-too"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert r.status_code == 200


def test_admins_write_and_members_read(keys_gw):
    member_user, password = keys_gw.new_user("member")
    member = keys_gw.login(member_user["email"], password)
    gateways = f"/accounts/{ACCOUNT}/ai-gateway/gateways"
    assert member.call("GET", gateways).status_code == 200
    spec = {
        "id": f"m-{uuid.uuid4().hex[:8]}",
        "cache_invalidate_on_update": False,
        "cache_ttl": 0,
        "collect_logs": True,
        "rate_limiting_interval": 0,
        "rate_limiting_limit": 0,
    }
    r = member.call("POST", gateways, json=spec)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == 10000
    assert member.call("DELETE", f"/accounts/{ACCOUNT}/ai-gateway/gateways/default/logs").status_code == 403
    assert member.call("GET", f"/accounts/{ACCOUNT}/users").status_code == 403
    admin = keys_gw.admin()
    r = admin.call("POST", gateways, json=spec)
    assert r.status_code == 200, r.text
    created = keys_gw.gw.query("SELECT * FROM audit_log WHERE resource_id = ? AND action_type = 'create'", (spec["id"],))
    assert created[0]["actor_type"] == "user" and created[0]["actor_id"] == admin.user["id"]


def test_members_see_and_manage_only_their_own_keys(keys_gw):
    a_user, a_pw = keys_gw.new_user("member")
    b_user, b_pw = keys_gw.new_user("member")
    a, b = keys_gw.login(a_user["email"], a_pw), keys_gw.login(b_user["email"], b_pw)
    r = a.call("POST", keys_gw.keys_api, json={"name": "mine", "budget": {"usd": 3, "period": "month"}})
    assert r.status_code == 200, r.text
    a_key = r.json()["result"]
    assert a_key["owner"] == {"id": a_user["id"], "email": a_user["email"], "name": a_user["name"]}
    assert a_key["secret"].startswith("aigw_vk_")
    assert b.call("POST", keys_gw.keys_api, json={"name": "x", "owner_id": a_user["id"]}).status_code == 403

    listed = b.call("GET", keys_gw.keys_api).json()["result"]
    assert all(k["owner"]["id"] == b_user["id"] for k in listed)
    one = f"{keys_gw.keys_api}/{a_key['id']}"
    assert b.call("GET", one).status_code == 404
    assert b.call("PATCH", one, json={"name": "stolen"}).status_code == 404
    assert b.call("DELETE", one).status_code == 404
    assert b.call("GET", f"{one}/usage").status_code == 404

    r = a.call("PATCH", one, json={"name": "renamed", "rate_limit": {"requests_per_minute": 5}})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["name"] == "renamed"
    assert r.json()["result"]["rate_limit"] == {"requests_per_minute": 5, "tokens_per_minute": None}
    assert a.call("GET", f"{one}/usage").status_code == 200
    usage = a.call("GET", f"{keys_gw.account_api}/ai-gateway/me/usage").json()["result"]
    assert [k["key_id"] for k in usage["keys"]] == [a_key["id"]]
    assert set(usage["total"]) == {"requests", "errors", "tokens_in", "tokens_out", "cost"}

    admin = keys_gw.admin()
    everyone = admin.call("GET", keys_gw.keys_api, params={"per_page": 100}).json()["result"]
    assert {a_key["id"]} <= {k["id"] for k in everyone}
    assert admin.call("DELETE", one).json()["result"]["status"] == "revoked"
    assert a.call("PATCH", one, json={"name": "again"}).status_code == 409
    descriptions = [r["action_description"] for r in keys_gw.gw.query(
        "SELECT action_description FROM audit_log WHERE resource_id = ? AND action_result = 'success' ORDER BY seq",
        (a_key["id"],),
    )]
    assert descriptions == ["Create virtual key", "Update virtual key", "Revoke virtual key"]
    # B's attempts on A's key (and A's late rename) are in the trail as failures, each naming
    # the dashboard user who made it.
    failed = keys_gw.gw.query(
        "SELECT actor_id, actor_context FROM audit_log WHERE resource_id = ? AND action_result = 'failure' ORDER BY seq",
        (a_key["id"],),
    )
    assert [r["actor_id"] for r in failed] == [b_user["id"], b_user["id"], a_user["id"]]
    assert {r["actor_context"] for r in failed} == {"dash"}
    # The trail never holds the key's secret.
    assert not keys_gw.gw.query("SELECT 1 FROM audit_log WHERE resource_response LIKE ?", (f"%{a_key['secret']}%",))


def test_users_api_and_the_last_admin(keys_gw):
    admin = keys_gw.admin()
    users = f"/accounts/{ACCOUNT}/users"
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    r = admin.call("POST", users, json={"email": email, "name": "New", "password": "pw-long-enough", "role": "member"})
    assert r.status_code == 200, r.text
    new = r.json()["result"]
    assert "password" not in new and new["role"] == "member"
    assert admin.call("POST", users, json={"email": email, "password": "pw-long-enough"}).status_code == 409
    assert admin.call("POST", users, json={"email": "x@example.com", "password": "short"}).status_code == 400
    assert admin.call("POST", users, json={"email": "not-an-email", "password": "pw-long-enough"}).status_code == 400

    member = keys_gw.login(email, "pw-long-enough")
    # A member changes their own name and password (with the current one), not their role.
    me = f"{users}/{new['id']}"
    assert member.call("PATCH", me, json={"role": "admin"}).status_code == 400
    assert member.call("PATCH", me, json={"password": "another-long-one"}).status_code == 400
    r = member.call("PATCH", me, json={"name": "Renamed", "password": "another-long-one", "current_password": "pw-long-enough"})
    assert r.status_code == 200, r.text
    # A new password ends the user's sessions.
    assert member.call("GET", "/auth/session").status_code == 401
    keys_gw.login(email, "another-long-one")

    admin_id = admin.user["id"]
    r = admin.call("DELETE", f"{users}/{admin_id}")
    assert r.status_code == 409 and "admin" in r.json()["errors"][0]["message"]
    assert admin.call("PATCH", f"{users}/{admin_id}", json={"role": "member"}).status_code == 409
    r = admin.call("DELETE", me)
    assert r.status_code == 200
    gone = httpx.post(f"{keys_gw.api}/auth/login", json={"email": email, "password": "another-long-one"})
    assert gone.status_code == 401
    described = {r["action_description"] for r in keys_gw.gw.query("SELECT action_description FROM audit_log WHERE resource_id = ?", (new["id"],))}
    assert described >= {"Create user", "Update user", "Delete user"}


def test_the_seeded_admin_exists_once(keys_gw):
    rows = keys_gw.gw.query("SELECT role, password_hash FROM users WHERE email = ?", (ADMIN_EMAIL,))
    assert len(rows) == 1 and rows[0]["role"] == "admin"
    assert rows[0]["password_hash"].startswith("$argon2id$")
    assert ADMIN_PASSWORD not in keys_gw.gw.proc.stderr_text()
