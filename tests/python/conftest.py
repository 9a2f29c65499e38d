"""Session fixtures for the SDK suite: a mock provider and an aigw in front of it.

Both binaries listen on port 0 and announce their address on stdout; nothing here uses a fixed
port or sleeps. Log records are read straight from aigw's SQLite file after `POST /_aigw/flush`,
which returns once every record accepted so far is committed.

Binaries: `AIGW_BIN` and `MOCK_PROVIDER_BIN`, defaulting to `<repo>/target/debug/aigw` and
`<repo>/target/debug/mock-provider` (build them with
`cargo build -p aigw -p aigw-mock-provider`).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard

REPO = Path(__file__).resolve().parents[2]
AIGW_BIN = Path(os.environ.get("AIGW_BIN", REPO / "target" / "debug" / "aigw"))
MOCK_BIN = Path(os.environ.get("MOCK_PROVIDER_BIN", REPO / "target" / "debug" / "mock-provider"))

ACCOUNT = "acct"
READY_TIMEOUT_S = 30.0

# Keys the gateway holds (sent upstream when a caller brings none) and keys callers send.
# None of them may ever appear in the database or in aigw's log output.
GATEWAY_KEYS = {
    "OPENAI_API_KEY": "sk-gateway-openai-7f3a9c1e5b2d4f60",
    "ANTHROPIC_API_KEY": "sk-ant-gateway-anthropic-2b8e6d4c0a1f3e57",
    "GEMINI_API_KEY": "AIza-gateway-gemini-9d1c3b5a7e2f4c68",
}
CALLER_OPENAI_KEY = "sk-caller-openai-4c2e8a6b0d1f3957"
CALLER_ANTHROPIC_KEY = "sk-ant-caller-anthropic-6e0a2c4b8d1f5379"
ALL_SECRETS = [*GATEWAY_KEYS.values(), CALLER_OPENAI_KEY, CALLER_ANTHROPIC_KEY]

# Round prices (USD per million tokens) so expected costs are easy to read. Inline entries in
# the suite's config take precedence over the shipped table for the same provider and model.
PRICES: dict[tuple[str, str], dict[str, float]] = {
    ("openai", "gpt-4o-mini"): {"input": 1.0, "output": 2.0, "cached_input": 0.5},
    ("openai", "text-embedding-3-small"): {"input": 0.5, "output": 0.0},
    # The anthropic SDK warns about deprecated model ids; its tests use a current one.
    ("anthropic", "claude-sonnet-4-6"): {
        "input": 3.0,
        "output": 15.0,
        "cached_input": 0.5,
        "cache_write": 4.0,
    },
    # The compat tests' `anthropic/claude-sonnet-4-20250514`, priced apart from the one above so
    # a mix-up shows.
    ("anthropic", "claude-sonnet-4-20250514"): {"input": 2.0, "output": 10.0},
}
ANTHROPIC_MODEL = "claude-sonnet-4-6"

# What the mock provider answers by default (crates/mock-provider/src/control.rs).
MOCK_TEXT = "Hello from the mock provider."
MOCK_PROMPT_TOKENS = 10
MOCK_COMPLETION_TOKENS = 5


def expected_cost(
    provider: str,
    model: str,
    tokens_in: int,
    tokens_out: int,
    cached: int = 0,
    cache_write: int = 0,
) -> float:
    """aigw's rule: uncached input, cached input, cache writes and output, each at its rate."""
    p = PRICES[(provider, model)]
    cached_rate = p.get("cached_input", p["input"])
    write_rate = p.get("cache_write", p["input"])
    micro = (
        (tokens_in - cached - cache_write) * p["input"]
        + cached * cached_rate
        + cache_write * write_rate
        + tokens_out * p["output"]
    )
    return micro / 1_000_000


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class Proc:
    """A child process whose stdout is read line by line on a thread."""

    def __init__(self, args: list[str], env: dict[str, str], stderr_path: Path, cwd: Path | None = None):
        self.args = args
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.lines.put(None)  # EOF: the process closed stdout (normally: it exited)

    def stderr_text(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_line(self, prefix: str, timeout: float = READY_TIMEOUT_S) -> str:
        """Blocks until a stdout line starting with `prefix`; fails with stderr otherwise."""
        try:
            while True:
                line = self.lines.get(timeout=timeout)
                if line is None:
                    code = self.popen.wait(timeout=timeout)
                    pytest.fail(
                        f"{self.args[0]} exited with {code} before printing {prefix!r}:\n"
                        f"{self.stderr_text()}"
                    )
                if line.startswith(prefix):
                    return line
        except queue.Empty:
            self.popen.kill()  # ours, started above; nothing else is touched
            self.popen.wait()
            pytest.fail(
                f"{self.args[0]} printed no {prefix!r} line within {timeout}s:\n{self.stderr_text()}"
            )

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait. Kills (and fails loudly) only if it does not stop in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise
        finally:
            self._reader.join(timeout=timeout)
            self._stderr.close()
        return code


def parse_ready(line: str) -> dict[str, str]:
    """`aigw ready proxy=http://... admin=http://...` -> {"proxy": ..., "admin": ...}."""
    fields = dict(part.split("=", 1) for part in line.split()[2:])
    assert set(fields) >= {"proxy", "admin"}, line
    return fields


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment minus anything that could change aigw's behaviour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIGW_") and not k.endswith("_API_KEY") and k != "RUST_LOG"
    }
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------
# The running gateway
# --------------------------------------------------------------------------------------------


@dataclass
class Gateway:
    proxy: str
    admin: str
    mock: str
    db_path: Path
    proc: Proc
    gateway_keys: dict[str, str] = field(default_factory=lambda: dict(GATEWAY_KEYS))

    def base(self, provider: str, gateway: str = "default", account: str = ACCOUNT) -> str:
        return f"{self.proxy}/v1/{account}/{gateway}/{provider}"

    def flush(self) -> dict[str, Any]:
        """Returns once every log record accepted so far is committed."""
        req = urllib.request.Request(f"{self.admin}/_aigw/flush", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
            return json.loads(resp.read())

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]

    def log_row(self, log_id: str, flush: bool = True) -> dict[str, Any]:
        """The `logs` row of `log_id` as a dict (flushes first)."""
        if flush:
            self.flush()
        rows = self.query("SELECT * FROM logs WHERE id = ?", (log_id,))
        assert len(rows) == 1, f"expected one log row with id {log_id!r}, found {len(rows)}"
        return rows[0]

    def wait_rows(self, sql_filter: str, params: tuple = (), count: int = 1, timeout: float = 10.0):
        """Rows matching `sql_filter` once there are `count` of them.

        For exchanges the caller ended early: aigw finishes their record when it notices the
        caller is gone, which can be after the caller's last call returned, so one flush may
        come too early. This flushes again until the rows are there (no fixed sleeps)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows_where(sql_filter, params)
            if len(rows) >= count or time.monotonic() > deadline:
                assert len(rows) == count, f"expected {count} rows where {sql_filter} {params}, found {len(rows)}"
                return rows

    def rows_where(self, sql_filter: str, params: tuple = ()) -> list[dict[str, Any]]:
        self.flush()
        return self.query(f"SELECT * FROM logs WHERE {sql_filter} ORDER BY seq", params)

    def payload(self, log_id: str) -> dict[str, Any]:
        """The stored request and response bodies of `log_id`, decompressed."""
        self.flush()
        rows = self.query(
            "SELECT p.* FROM log_payloads p JOIN logs l ON l.seq = p.seq WHERE l.id = ?",
            (log_id,),
        )
        assert len(rows) == 1, f"expected one payload row for {log_id!r}, found {len(rows)}"
        row = rows[0]
        return {
            "request": decompress(row["request"]),
            "request_truncated": bool(row["request_truncated"]),
            "response": decompress(row["response"]),
            "response_truncated": bool(row["response_truncated"]),
        }


def decompress(blob: bytes | None) -> bytes | None:
    if blob is None:
        return None
    # Small bodies are stored raw behind a zero byte; the rest as zstd frames.
    if blob[:1] == b"\x00":
        return bytes(blob[1:])
    # A streaming reader copes with frames that do not record their content size.
    return zstandard.ZstdDecompressor().decompressobj().decompress(blob)


def suite_config(tmp: Path, mock: str, extra_accounts: tuple[str, ...] = ()) -> str:
    lines = [
        "[proxy]",
        'listen = "127.0.0.1:0"',
        "[admin]",
        'listen = "127.0.0.1:0"',
        "[storage]",
        f"path = {json.dumps(str(tmp / 'aigw.db'))}",
        "[writer]",
        "batch_delay_ms = 5",
        "[[accounts]]",
        f'id = "{ACCOUNT}"',
    ]
    for extra in extra_accounts:
        lines += ["[[accounts]]", f'id = "{extra}"']
    lines += [
        "[providers.openai]",
        f'base_url = "{mock}/v1"',
        "[providers.anthropic]",
        f'base_url = "{mock}"',
        '[providers."google-ai-studio"]',
        f'base_url = "{mock}"',
    ]
    for (provider, model), price in PRICES.items():
        lines += ["[[pricing.models]]", f'provider = "{provider}"', f'model = "{model}"']
        lines += [f"{k} = {v}" for k, v in price.items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # a typo here should fail here, not as an aigw start-up error
    return text


@pytest.fixture(scope="session")
def binaries() -> tuple[Path, Path]:
    for b in (AIGW_BIN, MOCK_BIN):
        if not b.is_file():
            pytest.fail(f"{b} not found: run `cargo build -p aigw -p aigw-mock-provider` first")
    return AIGW_BIN, MOCK_BIN


@pytest.fixture(scope="session")
def mock_provider(binaries, tmp_path_factory) -> str:
    _, mock_bin = binaries
    tmp = tmp_path_factory.mktemp("mock")
    proc = Proc([str(mock_bin), "--listen", "127.0.0.1:0"], child_env(), tmp / "mock.stderr")
    line = proc.wait_line("listening ")
    url = line.split()[1]
    yield url
    proc.terminate()


@pytest.fixture(scope="session")
def gateway(binaries, mock_provider, tmp_path_factory) -> Gateway:
    aigw_bin, _ = binaries
    tmp = tmp_path_factory.mktemp("aigw")
    config = tmp / "aigw.toml"
    config.write_text(suite_config(tmp, mock_provider))
    # aigw's default level; AIGW_TEST_RUST_LOG=debug (or trace) widens the log-leak check.
    env = child_env(RUST_LOG=os.environ.get("AIGW_TEST_RUST_LOG", "info"), **GATEWAY_KEYS)
    proc = Proc([str(aigw_bin), "serve", "--config", str(config)], env, tmp / "aigw.stderr", cwd=tmp)
    urls = parse_ready(proc.wait_line("aigw ready "))
    gw = Gateway(
        proxy=urls["proxy"],
        admin=urls["admin"],
        mock=mock_provider,
        db_path=tmp / "aigw.db",
        proc=proc,
    )
    yield gw
    code = proc.terminate()
    assert code == 0, f"aigw exited with {code}:\n{proc.stderr_text()}"


# --------------------------------------------------------------------------------------------
# A second aigw for the Cloudflare-compatible admin API (tests/python/test_cloudflare_*.py)
# --------------------------------------------------------------------------------------------

OTHER_ACCOUNT = "acct-other"
# The write token `AIGW_ADMIN_TOKEN` creates on the first account at start-up.
ADMIN_TOKEN = "aigw-suite-admin-token-5d2c8e1a9f3b7046"
# The email of the `email` token (for `X-Auth-Email` + `X-Auth-Key`).
ADMIN_EMAIL = "ops@example.com"


@dataclass
class AdminApi:
    """An aigw of its own (two accounts, admin tokens), so the logs it lists are only the
    Cloudflare tests' own. `tokens`: name -> secret (`write` from AIGW_ADMIN_TOKEN; `read`
    read-only; `email` read+write with email `ADMIN_EMAIL`; `other` a write token of
    `OTHER_ACCOUNT`)."""

    gw: Gateway
    tokens: dict[str, str]
    config: Path

    @property
    def api_base(self) -> str:
        return f"{self.gw.admin}/client/v4"

    def client(self, token: str = "write", **kwargs: Any):
        """The official `cloudflare` SDK pointed at this aigw, authenticated with `token`."""
        import cloudflare

        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 30)
        return cloudflare.Cloudflare(api_token=self.tokens[token], base_url=self.api_base, **kwargs)


def create_token(config: Path, name: str, *extra: str) -> str:
    """`aigw tokens create`; returns the secret it prints."""
    out = subprocess.run(
        [str(AIGW_BIN), "tokens", "create", "--name", name, *extra, "--config", str(config)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, f"aigw tokens create failed:\n{out.stderr}"
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def admin_api(binaries, mock_provider, tmp_path_factory) -> AdminApi:
    aigw_bin, _ = binaries
    tmp = tmp_path_factory.mktemp("aigw-admin")
    config = tmp / "aigw.toml"
    config.write_text(suite_config(tmp, mock_provider, extra_accounts=(OTHER_ACCOUNT,)))
    env = child_env(RUST_LOG="info", AIGW_ADMIN_TOKEN=ADMIN_TOKEN, **GATEWAY_KEYS)
    proc = Proc([str(aigw_bin), "serve", "--config", str(config)], env, tmp / "aigw.stderr", cwd=tmp)
    urls = parse_ready(proc.wait_line("aigw ready "))
    tokens = {
        "write": ADMIN_TOKEN,
        "read": create_token(config, "reader", "--read-only"),
        "email": create_token(config, "by-email", "--email", ADMIN_EMAIL),
        "other": create_token(config, "other", "--account", OTHER_ACCOUNT),
    }
    gw = Gateway(
        proxy=urls["proxy"], admin=urls["admin"], mock=mock_provider, db_path=tmp / "aigw.db", proc=proc
    )
    yield AdminApi(gw=gw, tokens=tokens, config=config)
    code = proc.terminate()
    assert code == 0, f"aigw exited with {code}:\n{proc.stderr_text()}"


# --------------------------------------------------------------------------------------------
# SDK clients
# --------------------------------------------------------------------------------------------


@pytest.fixture
def openai_client(gateway):
    import openai

    client = openai.OpenAI(
        base_url=gateway.base("openai"), api_key=CALLER_OPENAI_KEY, max_retries=0, timeout=30
    )
    yield client
    client.close()


@pytest.fixture
def anthropic_client(gateway):
    import anthropic

    client = anthropic.Anthropic(
        base_url=gateway.base("anthropic"), api_key=CALLER_ANTHROPIC_KEY, max_retries=0, timeout=30
    )
    yield client
    client.close()


def log_id_of(headers) -> str:
    log_id = headers.get("cf-aig-log-id")
    assert log_id, f"response has no cf-aig-log-id header: {dict(headers)}"
    return log_id
