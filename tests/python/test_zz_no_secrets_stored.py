"""Provider keys never reach the log store or aigw's own log output.

Named `test_zz_*` so that, in a full run, it runs last and its scan also covers every row the
other tests wrote. It makes its own traffic first, so it is meaningful when run alone too.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import anthropic
import openai
import pytest
import zstandard

from conftest import (
    ALL_SECRETS,
    ANTHROPIC_MODEL,
    CALLER_ANTHROPIC_KEY,
    CALLER_OPENAI_KEY,
    GATEWAY_KEYS,
    MOCK_TEXT,
    log_id_of,
)

CALLER_GEMINI_KEY = "AIza-caller-gemini-5a7c9e1b3d0f2468"
SECRETS = [*ALL_SECRETS, CALLER_GEMINI_KEY]
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def make_traffic(gateway, tag: str) -> list[str]:
    """Requests that carry every kind of key along every path; returns their log ids."""
    ids: list[str] = []
    meta = {"cf-aig-metadata": json.dumps({"tag": tag})}

    # Caller keys, through the SDKs.
    oai = openai.OpenAI(base_url=gateway.base("openai"), api_key=CALLER_OPENAI_KEY, max_retries=0)
    ant = anthropic.Anthropic(
        base_url=gateway.base("anthropic"), api_key=CALLER_ANTHROPIC_KEY, max_retries=0
    )
    compat = openai.OpenAI(base_url=gateway.base("compat"), api_key=CALLER_ANTHROPIC_KEY, max_retries=0)
    try:
        raw = oai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=meta
        )
        ids.append(log_id_of(raw.headers))
        with oai.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=meta
        ) as r:
            ids.append(log_id_of(r.headers))
            r.read()
        with pytest.raises(openai.AuthenticationError) as info:
            oai.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, extra_headers={**meta, "x-mock-status": "401"}
            )
        ids.append(log_id_of(info.value.response.headers))
        raw = ant.messages.with_raw_response.create(
            model=ANTHROPIC_MODEL, max_tokens=16, messages=MESSAGES, extra_headers=meta
        )
        ids.append(log_id_of(raw.headers))
        with ant.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=16, messages=MESSAGES, extra_headers=meta
        ) as s:
            assert "".join(s.text_stream) == MOCK_TEXT
            ids.append(log_id_of(s.response.headers))
        with pytest.raises(anthropic.AuthenticationError) as info:
            ant.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=16,
                messages=MESSAGES,
                extra_headers={**meta, "x-mock-status": "401"},
            )
        ids.append(log_id_of(info.value.response.headers))
        raw = compat.chat.completions.with_raw_response.create(
            model="anthropic/claude-sonnet-4-20250514", messages=MESSAGES, extra_headers=meta
        )
        ids.append(log_id_of(raw.headers))
    finally:
        oai.close()
        ant.close()
        compat.close()

    # Gemini caller keys, in a header and in the query string.
    gemini = gateway.base("google-ai-studio") + "/v1beta/models/gemini-2.0-flash:generateContent"
    body = {"contents": [{"parts": [{"text": "Say hello."}]}]}
    status, headers, _ = post(gemini, body, {**meta, "x-goog-api-key": CALLER_GEMINI_KEY})
    assert status == 200
    ids.append(headers["cf-aig-log-id"])
    status, headers, _ = post(f"{gemini}?key={CALLER_GEMINI_KEY}", body, meta)
    assert status == 200
    ids.append(headers["cf-aig-log-id"])

    # No caller key: aigw sends its own (gateway) keys upstream.
    chat = {"model": "gpt-4o-mini", "messages": MESSAGES}
    for url, payload in [
        (gateway.base("openai") + "/chat/completions", chat),
        (gateway.base("openai") + "/chat/completions", {**chat, "stream": True}),
        (
            gateway.base("anthropic") + "/v1/messages",
            {"model": ANTHROPIC_MODEL, "max_tokens": 16, "messages": MESSAGES},
        ),
        (gateway.base("compat") + "/chat/completions", {**chat, "model": "anthropic/claude-sonnet-4-20250514"}),
        (gemini, body),
    ]:
        status, headers, _ = post(url, payload, meta)
        assert status == 200, url
        ids.append(headers["cf-aig-log-id"])
    status, headers, _ = post(
        gateway.base("openai") + "/chat/completions", chat, {**meta, "x-mock-status": "403"}
    )
    assert status == 403
    ids.append(headers["cf-aig-log-id"])
    return ids


def scan_values(value, where: str, found: list[str], scanned: list[int]) -> None:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        return
    scanned[0] += 1
    candidates = [value]
    if value.startswith(ZSTD_MAGIC):
        candidates.append(zstandard.ZstdDecompressor().decompressobj().decompress(value))
    for data in candidates:
        for secret in SECRETS:
            if secret.encode() in data:
                found.append(f"{secret} in {where}")


def test_no_key_is_stored_or_logged(gateway):
    tag = f"secrets-{uuid.uuid4()}"
    ids = make_traffic(gateway, tag)
    gateway.flush()

    rows = gateway.query(
        "SELECT l.id, p.seq IS NOT NULL AS has_payload FROM logs l "
        "LEFT JOIN log_payloads p ON p.seq = l.seq WHERE json_extract(l.metadata, '$.tag') = ?",
        (tag,),
    )
    assert sorted(r["id"] for r in rows) == sorted(ids), "every request above is logged once"
    assert all(r["has_payload"] for r in rows), "bodies are stored, so the scan covers them"

    found: list[str] = []
    scanned = [0]
    with gateway.connect() as conn:
        tables = [
            r[0]
            # Virtual tables (the search index) are read through their shadow tables, which
            # are plain tables: Python's SQLite may not know the index's options.
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            ).fetchall()
        ]
        assert {"logs", "log_payloads"} <= set(tables)
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for n, row in enumerate(cursor):
                for column, value in zip(columns, row):
                    scan_values(value, f"{table}.{column} (row {n})", found, scanned)
    assert found == [], "\n".join(found)
    assert scanned[0] > 0

    # The scan can see what it looks for: the tag sent in metadata is in the store.
    with gateway.connect() as conn:
        assert conn.execute(
            "SELECT count(*) FROM logs WHERE metadata LIKE ?", (f"%{tag}%",)
        ).fetchone()[0] == len(ids)

    stderr = gateway.proc.stderr_text()
    assert stderr, "aigw wrote no log output at all"
    leaked = [s for s in SECRETS if s in stderr]
    assert leaked == [], f"aigw's log output contains keys: {leaked}"
    assert set(GATEWAY_KEYS.values()) <= set(SECRETS)
