"""Fixtures for the virtual key, session and Playground suites: an aigw of their own, with an
admin user seeded from AIGW_ADMIN_EMAIL / AIGW_ADMIN_PASSWORD, an admin API token, and a mock
provider of its own whose recording (`GET /_mock/received`) the tests read.

Test modules import the `keys_gw` fixture from here. No fixed ports, no sleeps.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    ACCOUNT,
    GATEWAY_KEYS,
    Gateway,
    Proc,
    child_env,
    decompress,
    parse_ready,
    suite_config,
)

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root-password-7c1e9a"
ADMIN_TOKEN = "aigw-keys-suite-token-3f9b1d7a5c2e8046"
OTHER_ACCOUNT = "acct-keys-other"
# A model whose cost is exactly $1 per output token and nothing per input token, so budget
# reservations (input bytes at the input rate + max_tokens at the output rate) equal the cost.
BUDGET_MODEL = "budget-model"


@dataclass
class Session:
    """A logged-in dashboard user: an httpx client holding the cookie, and the CSRF token."""

    client: httpx.Client
    csrf: str
    user: dict[str, Any]

    def call(self, method: str, path: str, csrf: bool = True, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if csrf and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        return self.client.request(method, path, headers=headers, **kwargs)


@dataclass
class KeysGateway:
    gw: Gateway
    mock: str
    config: Path
    tmp: Path

    @property
    def api(self) -> str:
        return f"{self.gw.admin}/client/v4"

    @property
    def account_api(self) -> str:
        return f"{self.api}/accounts/{ACCOUNT}"

    @property
    def keys_api(self) -> str:
        return f"{self.account_api}/ai-gateway/virtual-keys"

    def token_call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The admin API with the write token."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", **(kwargs.pop("headers", {}) or {})}
        return httpx.request(method, path if path.startswith("http") else self.api + path, headers=headers, timeout=30, **kwargs)

    def login(self, email: str, password: str) -> Session:
        client = httpx.Client(base_url=self.api, timeout=30)
        r = client.post("/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        return Session(client=client, csrf=result["csrf_token"], user=result["user"])

    def admin(self) -> Session:
        return self.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    def new_user(self, role: str = "member", password: str = "member-password-1") -> tuple[dict[str, Any], str]:
        """A fresh user of the account, created with the admin token; returns it and its password."""
        tag = uuid.uuid4().hex[:8]
        r = self.token_call(
            "POST",
            f"/accounts/{ACCOUNT}/users",
            json={"email": f"{role}-{tag}@example.com", "name": f"{role.title()} {tag}", "password": password, "role": role},
        )
        assert r.status_code == 200, r.text
        return r.json()["result"], password

    def new_key(self, owner_id: str, **fields) -> dict[str, Any]:
        """A key created with the admin token; the result includes its `secret`."""
        body = {"name": f"key-{uuid.uuid4().hex[:8]}", "owner_id": owner_id, **fields}
        r = self.token_call("POST", self.keys_api, json=body)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def received(self, marker: str | None = None) -> list[dict[str, Any]]:
        """What the mock provider received (only requests carrying `x-test-marker: marker`)."""
        r = httpx.get(f"{self.mock}/_mock/received", timeout=30)
        assert r.status_code == 200
        items = r.json()
        for item in items:
            item["headers"] = {k: v for k, v in item["headers"]}
        if marker is not None:
            items = [i for i in items if i["headers"].get("x-test-marker") == marker]
        return items


def keys_config(tmp: Path, mock: str) -> str:
    text = suite_config(tmp, mock, extra_accounts=(OTHER_ACCOUNT,))
    text += "\n".join(
        ["[[pricing.models]]", 'provider = "openai"', f'model = "{BUDGET_MODEL}"', "input = 0.0", "output = 1000000.0"]
    )
    return text + "\n"


@pytest.fixture(scope="session")
def keys_gw(binaries, tmp_path_factory):
    aigw_bin, mock_bin = binaries
    tmp = tmp_path_factory.mktemp("aigw-keys")
    mock_proc = Proc([str(mock_bin), "--listen", "127.0.0.1:0"], child_env(), tmp / "mock.stderr")
    mock = mock_proc.wait_line("listening ").split()[1]
    config = tmp / "aigw.toml"
    config.write_text(keys_config(tmp, mock))
    env = child_env(
        RUST_LOG="info",
        AIGW_ADMIN_EMAIL=ADMIN_EMAIL,
        AIGW_ADMIN_PASSWORD=ADMIN_PASSWORD,
        AIGW_ADMIN_TOKEN=ADMIN_TOKEN,
        **GATEWAY_KEYS,
    )
    proc = Proc([str(aigw_bin), "serve", "--config", str(config)], env, tmp / "aigw.stderr", cwd=tmp)
    urls = parse_ready(proc.wait_line("aigw ready "))
    gw = Gateway(proxy=urls["proxy"], admin=urls["admin"], mock=mock, db_path=tmp / "aigw.db", proc=proc)
    yield KeysGateway(gw=gw, mock=mock, config=config, tmp=tmp)
    code = proc.terminate()
    mock_proc.terminate()
    assert code == 0, f"aigw exited with {code}:\n{proc.stderr_text()}"


def db_text(gw: Gateway) -> str:
    """Every text and blob value of every table, for leak checks (payloads decompressed)."""
    gw.flush()
    parts: list[str] = []
    with gw.connect() as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            # The metadata search's trigram index (FTS5, which this Python's SQLite cannot open):
            # it indexes the texts of `search_terms`, which are read here.
            if t.startswith("search_vocab"):
                continue
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                for v in row:
                    if isinstance(v, bytes):
                        try:
                            v = decompress(v) if t == "log_payloads" else v
                        except Exception:  # not a zstd frame: stored raw
                            pass
                        parts.append(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
                    elif v is not None:
                        parts.append(str(v))
    return "\n".join(parts)


def dump(v: Any) -> str:
    return json.dumps(v, indent=1)
