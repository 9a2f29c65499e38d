"""Cloudflare's AI Gateway Logs API, driven with the official `cloudflare` SDK (and raw httpx for
the wire forms the Python SDK cannot send), against an aigw fed through its own proxy.

Contract: /work/shared/CLOUDFLARE-CONTRACT.md sections 0-3 and 5, seeds 000-002. Every log the
tests list was made here, through the proxy, into a gateway of its own; what each log must say
is known from the request that made it (tokens come from the mock's control headers, costs
from the suite's price table); only `created_at` and `duration` (and the exact stored float of
each cost, once checked against the price table) are read back from the database.

Raw requests build their query strings by hand: httpx's `params=` groups repeated names, which
would turn the TS SDK's interleaved `filters` wire into the Python SDK's grouped one.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import cloudflare
import httpx
import openai
import pytest

from conftest import (
    ACCOUNT,
    ADMIN_EMAIL,
    AIGW_BIN,
    ANTHROPIC_MODEL,
    CALLER_ANTHROPIC_KEY,
    CALLER_OPENAI_KEY,
    OTHER_ACCOUNT,
    child_env,
    create_token,
    expected_cost,
    log_id_of,
)

MESSAGES = [{"role": "user", "content": "Say hello."}]
COMPAT_UPSTREAM = "claude-sonnet-4-20250514"
SLOW_MS = 300  # the one slow exchange; every other one is far quicker than DURATION_CUT
DURATION_CUT = 250
# One connection pool for the raw requests (a new client per request costs ~50 ms).
HTTP = httpx.Client(timeout=30)


# --------------------------------------------------------------------------------------------
# The logs the tests make
# --------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One exchange made through the proxy, and what its log must say."""

    name: str
    id: str
    provider: str
    model: str
    model_type: str
    request_type: str
    path: str
    success: bool
    status_code: int
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    metadata: dict[str, Any] | None
    event_id: str | None
    user_agent: str
    cached: bool = False
    # Read back from the database after the flush.
    created_at: int = 0  # ms since the epoch
    duration: int = 0  # ms
    seq: int = 0

    @property
    def tokens(self) -> int:
        return (self.tokens_in or 0) + (self.tokens_out or 0)

    def metadata_values(self) -> list[str]:
        """The metadata values as text, the way a filter value names them."""
        return [json_text(v) for v in (self.metadata or {}).values()]


def json_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass
class Spec:
    name: str
    kind: str  # chat | embeddings | completions | anthropic | compat | sdk
    tokens: tuple[int, int] = (10, 5)
    status: int | None = None
    delay_ms: int | None = None
    metadata: dict[str, Any] | None = None
    event_id: str | None = None
    user_agent: str = "suite-agent/alpha"


DATASET = [
    Spec("a1", "chat", (10, 5), metadata={"team": "alpha", "user": 1}, event_id="ev-alpha-1"),
    Spec("a2", "chat", (100, 20), metadata={"team": "alpha", "user": 2}, event_id="ev-alpha-2"),
    Spec("b1", "chat", (40, 8), metadata={"team": "beta", "flag": True}, event_id="ev-beta-1",
         user_agent="suite-agent/beta"),
    Spec("r429", "chat", status=429, metadata={"team": "beta"}, user_agent="other-client/1.0"),
    Spec("r500", "chat", status=500, user_agent="other-client/1.0"),
    Spec("emb", "embeddings", (8, 0)),
    Spec("cmp", "completions", (12, 3), user_agent="suite-agent/beta"),
    Spec("ant", "anthropic", (30, 7), metadata={"team": "Alpha-Team", "score": 3.5}, event_id="ev-ant"),
    Spec("compat", "compat", (25, 7), user_agent="suite-agent/beta"),
    Spec("slow", "chat", (10, 5), delay_ms=SLOW_MS),
    Spec("s1", "chat", (7, 2), metadata={"city": "München"}, user_agent="suite-agent/gamma"),
    Spec("sdk", "sdk", (10, 5)),
]


def send(gw, gateway_id: str, spec: Spec) -> Sent:
    """Makes one exchange through the proxy; returns what its log must say."""
    tin, tout = spec.tokens
    headers = {
        "user-agent": spec.user_agent,
        "x-mock-prompt-tokens": str(tin),
        "x-mock-completion-tokens": str(tout),
    }
    if spec.metadata is not None:
        headers["cf-aig-metadata"] = json.dumps(spec.metadata)
    if spec.event_id:
        headers["cf-aig-event-id"] = spec.event_id
    if spec.status:
        headers["x-mock-status"] = str(spec.status)
    if spec.delay_ms:
        headers["x-mock-delay-ms"] = str(spec.delay_ms)

    provider, model, model_type, request_type = "openai", "gpt-4o-mini", "chat", "provider"
    user_agent = spec.user_agent
    if spec.kind == "sdk":
        client = openai.OpenAI(
            base_url=gw.base("openai", gateway_id), api_key=CALLER_OPENAI_KEY, max_retries=0, timeout=30
        )
        try:
            headers.pop("user-agent")
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=MESSAGES, extra_headers=headers
            )
            user_agent = f"OpenAI/Python {openai.__version__}"
            log_id, status, path = log_id_of(raw.headers), raw.status_code, "chat/completions"
        finally:
            client.close()
    else:
        if spec.kind == "chat":
            path, body = "chat/completions", {"model": model, "messages": MESSAGES}
        elif spec.kind == "embeddings":
            model, model_type = "text-embedding-3-small", "embedding"
            path, body = "embeddings", {"model": model, "input": "hello"}
        elif spec.kind == "completions":
            model_type = "completion"
            path, body = "completions", {"model": model, "prompt": "Say hello."}
        elif spec.kind == "anthropic":
            provider, model = "anthropic", ANTHROPIC_MODEL
            path, body = "v1/messages", {"model": model, "max_tokens": 16, "messages": MESSAGES}
            headers.update({"x-api-key": CALLER_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})
        elif spec.kind == "compat":
            provider, model, request_type = "anthropic", COMPAT_UPSTREAM, "compat"
            path, body = "chat/completions", {"model": f"anthropic/{COMPAT_UPSTREAM}", "messages": MESSAGES}
        else:
            raise AssertionError(spec.kind)
        if provider == "openai" or spec.kind == "compat":
            headers["authorization"] = f"Bearer {CALLER_OPENAI_KEY}"
        target = "compat" if spec.kind == "compat" else provider
        resp = HTTP.post(f"{gw.base(target, gateway_id)}/{path}", json=body, headers=headers, timeout=30)
        log_id, status = log_id_of(resp.headers), resp.status_code
    ok = spec.status is None
    assert status == (200 if ok else spec.status)
    return Sent(
        name=spec.name,
        id=log_id,
        provider=provider,
        model=model,
        model_type=model_type,
        request_type=request_type,
        path=path,
        success=ok,
        status_code=status,
        tokens_in=tin if ok else None,
        tokens_out=tout if ok else None,
        cost=expected_cost(provider, model, tin, tout) if ok else None,
        metadata=spec.metadata,
        event_id=spec.event_id,
        user_agent=user_agent,
    )


def fill_from_db(gw, sent: list[Sent]) -> None:
    """`created_at`, `duration` and `seq` of each log, from the database (after a flush). The
    cost is checked against the price table and then taken as stored, so that filters on exact
    costs compare the very same float."""
    gw.flush()
    rows = {
        r["id"]: r
        for r in gw.query(
            f"SELECT id, created_at, duration, seq, cost FROM logs WHERE id IN ({','.join('?' * len(sent))})",
            tuple(s.id for s in sent),
        )
    }
    assert set(rows) == {s.id for s in sent}, "a log the test made is missing from the database"
    for s in sent:
        s.created_at, s.duration, s.seq = (rows[s.id][k] for k in ("created_at", "duration", "seq"))
        if s.cost is None:
            assert rows[s.id]["cost"] is None, s.name
        else:
            assert rows[s.id]["cost"] == pytest.approx(s.cost, rel=1e-12), s.name
            s.cost = rows[s.id]["cost"]


@dataclass
class Dataset:
    gid: str
    logs: list[Sent]

    @property
    def by(self) -> dict[str, Sent]:
        return {s.name: s for s in self.logs}

    @property
    def by_id(self) -> dict[str, Sent]:
        return {s.id: s for s in self.logs}

    def ids(self, pred: Callable[[Sent], bool]) -> set[str]:
        return {s.id for s in self.logs if pred(s)}


def new_gateway_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_gateway(cf, gid: str, account: str = ACCOUNT, collect_logs: bool = True):
    return cf.ai_gateway.create(
        account_id=account,
        id=gid,
        cache_invalidate_on_update=False,
        cache_ttl=0,
        collect_logs=collect_logs,
        rate_limiting_interval=0,
        rate_limiting_limit=0,
    )


@pytest.fixture(scope="module")
def cf(admin_api):
    client = admin_api.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def ds(admin_api, cf) -> Dataset:
    """A gateway holding the twelve logs of DATASET, made in order, one at a time."""
    gid = new_gateway_id("logs")
    create_gateway(cf, gid)
    logs = [send(admin_api.gw, gid, spec) for spec in DATASET]
    fill_from_db(admin_api.gw, logs)
    assert max(s.duration for s in logs if s.name != "slow") < DURATION_CUT
    assert next(s for s in logs if s.name == "slow").duration >= SLOW_MS > DURATION_CUT
    assert logs[-1].created_at >= logs[0].created_at
    return Dataset(gid=gid, logs=logs)


@pytest.fixture
def fresh(admin_api, cf):
    """A new, empty gateway for a test that changes logs."""
    gid = new_gateway_id("fresh")
    create_gateway(cf, gid)
    return gid


def list_all(cf, gid: str, account: str = ACCOUNT, **params) -> list:
    """Every log the SDK's auto-pagination yields."""
    params.setdefault("per_page", 50)
    return list(cf.ai_gateway.logs.list(gid, account_id=account, **params))


def assert_exactly(logs: list, expected: set[str]) -> None:
    ids = [log.id if hasattr(log, "id") else log["id"] for log in logs]
    assert len(ids) == len(set(ids)), f"a log came twice: {ids}"
    assert set(ids) == expected


def counting_client(admin_api, token: str = "write", **kwargs):
    """A cloudflare client and the list of requests it sent."""
    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    return admin_api.client(token, http_client=http, **kwargs), sent


def logs_url(api, gid: str, account: str = ACCOUNT, log_id: str | None = None, tail: str = "") -> str:
    url = f"{api.api_base}/accounts/{account}/ai-gateway/gateways/{gid}/logs"
    if log_id is not None:
        url += f"/{log_id}{tail}"
    return url


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """`url?pairs` in exactly this order (httpx's `params=` would group repeated names)."""
    return f"{url}?{urllib.parse.urlencode(pairs)}"


def bearer(api, token: str = "write") -> dict[str, str]:
    return {"authorization": f"Bearer {api.tokens[token]}"}


def wire(v: Any) -> str:
    """A filter value as the SDKs put it in the query string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def interleaved(filters: list[dict]) -> list[tuple[str, str]]:
    """The TS SDK's form: each filter's key, operator and values together, in order."""
    pairs = []
    for f in filters:
        pairs += [("filters.key", f["key"]), ("filters.operator", f["operator"])]
        pairs += [("filters.value", wire(v)) for v in f["value"]]
    return pairs


def grouped(filters: list[dict]) -> list[tuple[str, str]]:
    """The Python SDK's form: all keys, then all operators, then all values."""
    return (
        [("filters.key", f["key"]) for f in filters]
        + [("filters.operator", f["operator"]) for f in filters]
        + [("filters.value", wire(v)) for f in filters for v in f["value"]]
    )


def F(key: str, operator: str, *values: Any) -> dict:
    return {"key": key, "operator": operator, "value": list(values)}


def iso(ms: int, offset_hours: int = 0) -> str:
    tz = timezone(timedelta(hours=offset_hours))
    text = datetime.fromtimestamp(ms / 1000, tz=tz).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def assert_api_error(exc: cloudflare.APIStatusError, status: int, code: int, path: list | None = None):
    assert exc.status_code == status, exc.body
    body = exc.body
    assert isinstance(body, dict) and body["success"] is False, body
    assert body["errors"][0]["code"] == code, body
    assert isinstance(body["errors"][0]["message"], str) and body["errors"][0]["message"]
    if path is not None:
        assert body["errors"][0]["path"] == path, body


def assert_raw_error(resp: httpx.Response, status: int, code: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["errors"][0]["code"] == code, body
    assert body["result"] is None, body
    return body


# --------------------------------------------------------------------------------------------
# The list: fields, pagination, totals
# --------------------------------------------------------------------------------------------


def test_list_items_carry_cloudflares_fields(ds, cf):
    page = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=50)
    assert page.result_info.page == 1 and page.result_info.per_page == 50
    got = {log.id: log for log in page.result}
    assert set(got) == {s.id for s in ds.logs}
    for s in ds.logs:
        log = got[s.id]
        assert (log.provider, log.model, log.ai_model_type) == (s.provider, s.model, s.model_type), s.name
        assert (log.path, log.request_type) == (s.path, s.request_type), s.name
        assert (log.success, log.status_code, log.cached) == (s.success, s.status_code, False), s.name
        assert (log.tokens_in, log.tokens_out) == (s.tokens_in, s.tokens_out), s.name
        if s.cost is None:
            assert log.cost is None, s.name
        else:
            assert log.cost == pytest.approx(s.cost, rel=1e-12), s.name
        assert log.duration == s.duration and isinstance(log.duration, int)
        assert log.created_at == datetime.fromtimestamp(s.created_at / 1000, tz=timezone.utc)
        # `metadata` is the JSON *text* of the cf-aig-metadata object.
        if s.metadata is None:
            assert log.metadata is None, s.name
        else:
            assert isinstance(log.metadata, str) and json.loads(log.metadata) == s.metadata, s.name
        assert log.request_content_type == "application/json"
        assert log.step == 0 and log.custom_cost is False


def test_iteration_over_every_page_yields_each_log_once(admin_api, ds):
    client, sent = counting_client(admin_api)
    with client:
        logs = list(client.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=5))
    assert_exactly(logs, {s.id for s in ds.logs})
    assert len(logs) == 12
    # Pages 1, 2, 3 (5 + 5 + 2), then page 4 is empty and ends the iteration.
    pages = [dict(httpx.QueryParams(r.url.query)).get("page", "1") for r in sent]
    assert pages == ["1", "2", "3", "4"]


def test_iteration_one_per_page(admin_api, ds):
    client, sent = counting_client(admin_api)
    with client:
        logs = list(client.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=1))
    assert_exactly(logs, {s.id for s in ds.logs})
    assert len(sent) == 13


def test_iteration_with_a_filter_pages_through_the_matches_only(admin_api, ds):
    client, sent = counting_client(admin_api)
    with client:
        logs = list(
            client.ai_gateway.logs.list(
                ds.gid, account_id=ACCOUNT, per_page=2, filters=[F("provider", "eq", "openai")]
            )
        )
    expected = ds.ids(lambda s: s.provider == "openai")
    assert_exactly(logs, expected)
    assert len(sent) == -(-len(expected) // 2) + 1


def test_total_count_count_and_pages(ds, cf):
    first = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=5)
    info = first.result_info
    assert (info.page, info.per_page, info.count, info.total_count) == (1, 5, 5, 12)
    third = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=5, page=3)
    assert (third.result_info.page, third.result_info.count, third.result_info.total_count) == (3, 2, 12)
    # Beyond the end: 200 with an empty page, never an error (the SDK stops on it).
    beyond = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=5, page=1000)
    assert beyond.result == [] and beyond.result_info.total_count == 12
    assert beyond.result_info.count == 0
    filtered = cf.ai_gateway.logs.list(
        ds.gid, account_id=ACCOUNT, per_page=2, filters=[F("success", "eq", False)]
    )
    assert filtered.result_info.total_count == 2 and filtered.result_info.count == 2


def test_default_per_page_is_20(ds, admin_api):
    resp = HTTP.get(logs_url(admin_api, ds.gid), headers=bearer(admin_api))
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    assert body["result_info"]["per_page"] == 20 and body["result_info"]["page"] == 1
    assert len(body["result"]) == 12


# --------------------------------------------------------------------------------------------
# Filters: every key and operator, in the SDK's grouped form and the TS SDK's interleaved form
# --------------------------------------------------------------------------------------------


def none(_s: Sent) -> bool:
    return False


def every(_s: Sent) -> bool:
    return True


def icontains(text: str | None, part: str) -> bool:
    return text is not None and part.lower() in text.lower()


def filter_cases(ds: Dataset) -> dict[str, tuple[list[dict], Callable[[Sent], bool]]]:
    by = ds.by
    a1, b1, ant, slow = by["a1"], by["b1"], by["ant"], by["slow"]
    pivot = ds.logs[5].created_at
    return {
        # booleans
        "success-eq-true": ([F("success", "eq", True)], lambda s: s.success),
        "success-eq-false": ([F("success", "eq", False)], lambda s: not s.success),
        "success-neq-true": ([F("success", "neq", True)], lambda s: not s.success),
        "cached-eq-false": ([F("cached", "eq", False)], every),
        "cached-eq-true": ([F("cached", "eq", True)], none),
        "cached-neq-false": ([F("cached", "neq", False)], none),
        # text
        "provider-eq": ([F("provider", "eq", "anthropic")], lambda s: s.provider == "anthropic"),
        "provider-eq-any": ([F("provider", "eq", "anthropic", "openai")], every),
        "provider-neq": ([F("provider", "neq", "openai")], lambda s: s.provider != "openai"),
        "provider-contains": ([F("provider", "contains", "THROP")], lambda s: s.provider == "anthropic"),
        "model-eq-any": (
            [F("model", "eq", "text-embedding-3-small", ANTHROPIC_MODEL)],
            lambda s: s.model in ("text-embedding-3-small", ANTHROPIC_MODEL),
        ),
        "model-neq": ([F("model", "neq", "gpt-4o-mini")], lambda s: s.model != "gpt-4o-mini"),
        "model-neq-any": (
            [F("model", "neq", "gpt-4o-mini", ANTHROPIC_MODEL)],
            lambda s: s.model not in ("gpt-4o-mini", ANTHROPIC_MODEL),
        ),
        "model-contains": ([F("model", "contains", "Sonnet")], lambda s: "sonnet" in s.model),
        "model-contains-any": (
            [F("model", "contains", "embedding", "sonnet")],
            lambda s: "embedding" in s.model or "sonnet" in s.model,
        ),
        "model_type-eq": ([F("model_type", "eq", "embedding")], lambda s: s.model_type == "embedding"),
        "model_type-neq": ([F("model_type", "neq", "chat")], lambda s: s.model_type != "chat"),
        "model_type-contains": ([F("model_type", "contains", "PLET")], lambda s: s.model_type == "completion"),
        "request_type-eq": ([F("request_type", "eq", "compat")], lambda s: s.request_type == "compat"),
        "request_type-neq": ([F("request_type", "neq", "compat")], lambda s: s.request_type != "compat"),
        "request_type-contains": ([F("request_type", "contains", "prov")], lambda s: s.request_type == "provider"),
        "event_id-eq": (
            [F("event_id", "eq", "ev-alpha-1", "ev-beta-1")],
            lambda s: s.event_id in ("ev-alpha-1", "ev-beta-1"),
        ),
        # A log without an event id differs from "ev-alpha-1" too.
        "event_id-neq": ([F("event_id", "neq", "ev-alpha-1")], lambda s: s.event_id != "ev-alpha-1"),
        "event_id-contains": ([F("event_id", "contains", "EV-ALPHA")], lambda s: icontains(s.event_id, "ev-alpha")),
        "id-eq": ([F("id", "eq", a1.id, ant.id)], lambda s: s.id in (a1.id, ant.id)),
        "id-neq": ([F("id", "neq", a1.id)], lambda s: s.id != a1.id),
        "id-contains": ([F("id", "contains", a1.id[-9:].lower())], lambda s: icontains(s.id, a1.id[-9:])),
        "user_agent-eq": (
            [F("user_agent", "eq", "suite-agent/alpha")],
            lambda s: s.user_agent == "suite-agent/alpha",
        ),
        "user_agent-neq": (
            [F("user_agent", "neq", "suite-agent/alpha")],
            lambda s: s.user_agent != "suite-agent/alpha",
        ),
        "user_agent-contains": ([F("user_agent", "contains", "SUITE-AGENT")], lambda s: icontains(s.user_agent, "suite-agent")),
        # metadata: keys and values of the cf-aig-metadata object
        "metadata.key-eq": ([F("metadata.key", "eq", "team")], lambda s: "team" in (s.metadata or {})),
        "metadata.key-neq": ([F("metadata.key", "neq", "team")], lambda s: "team" not in (s.metadata or {})),
        "metadata.key-contains": ([F("metadata.key", "contains", "FLA")], lambda s: "flag" in (s.metadata or {})),
        "metadata.value-eq": ([F("metadata.value", "eq", "alpha")], lambda s: "alpha" in s.metadata_values()),
        "metadata.value-eq-number": ([F("metadata.value", "eq", 2)], lambda s: "2" in s.metadata_values()),
        # 1 is the number 1, not the boolean true.
        "metadata.value-eq-one": ([F("metadata.value", "eq", 1)], lambda s: "1" in s.metadata_values()),
        "metadata.value-eq-float": ([F("metadata.value", "eq", 3.5)], lambda s: "3.5" in s.metadata_values()),
        "metadata.value-eq-bool": ([F("metadata.value", "eq", True)], lambda s: "true" in s.metadata_values()),
        "metadata.value-neq": ([F("metadata.value", "neq", "alpha")], lambda s: "alpha" not in s.metadata_values()),
        "metadata.value-contains": (
            [F("metadata.value", "contains", "ALPHA")],
            lambda s: any("alpha" in v.lower() for v in s.metadata_values()),
        ),
        "metadata.value-contains-non-ascii": (
            [F("metadata.value", "contains", "MÜNCH")],
            lambda s: any("münch" in v.lower() for v in s.metadata_values()),
        ),
        # numbers (null never compares lt/gt; neq includes null)
        "cost-gt": ([F("cost", "gt", a1.cost)], lambda s: s.cost is not None and s.cost > a1.cost),
        "cost-lt": ([F("cost", "lt", 0.0001)], lambda s: s.cost is not None and s.cost < 0.0001),
        "cost-eq": ([F("cost", "eq", b1.cost)], lambda s: s.cost == b1.cost),
        "cost-neq": ([F("cost", "neq", a1.cost)], lambda s: s.cost != a1.cost),
        "tokens_in-eq": ([F("tokens_in", "eq", 100)], lambda s: s.tokens_in == 100),
        "tokens_in-neq": ([F("tokens_in", "neq", 10)], lambda s: s.tokens_in != 10),
        "tokens_in-lt": ([F("tokens_in", "lt", 11)], lambda s: s.tokens_in is not None and s.tokens_in < 11),
        "tokens_in-gt": ([F("tokens_in", "gt", 25)], lambda s: s.tokens_in is not None and s.tokens_in > 25),
        "tokens_out-eq": ([F("tokens_out", "eq", 0)], lambda s: s.tokens_out == 0),
        "tokens_out-neq": ([F("tokens_out", "neq", 5)], lambda s: s.tokens_out != 5),
        "tokens_out-lt": ([F("tokens_out", "lt", 5)], lambda s: s.tokens_out is not None and s.tokens_out < 5),
        "tokens_out-gt": ([F("tokens_out", "gt", 7)], lambda s: s.tokens_out is not None and s.tokens_out > 7),
        "tokens-eq": ([F("tokens", "eq", 15)], lambda s: s.success and s.tokens == 15),
        "tokens-gt": ([F("tokens", "gt", 40)], lambda s: s.success and s.tokens > 40),
        "tokens-lt": (
            [F("tokens", "lt", 16), F("success", "eq", True)],
            lambda s: s.success and s.tokens < 16,
        ),
        "tokens-neq": (
            [F("tokens", "neq", 15), F("success", "eq", True)],
            lambda s: s.success and s.tokens != 15,
        ),
        "duration-gt": ([F("duration", "gt", DURATION_CUT)], lambda s: s.duration > DURATION_CUT),
        "duration-lt": ([F("duration", "lt", DURATION_CUT)], lambda s: s.duration < DURATION_CUT),
        "duration-eq": ([F("duration", "eq", slow.duration)], lambda s: s.duration == slow.duration),
        "duration-neq": ([F("duration", "neq", slow.duration)], lambda s: s.duration != slow.duration),
        # aigw's extension key, the HTTP status
        "status_code-eq": ([F("status_code", "eq", 429)], lambda s: s.status_code == 429),
        "status_code-neq": ([F("status_code", "neq", 200)], lambda s: s.status_code != 200),
        "status_code-gt": ([F("status_code", "gt", 299)], lambda s: s.status_code > 299),
        "status_code-lt": ([F("status_code", "lt", 300)], lambda s: s.status_code < 300),
        # created_at: RFC 3339 with Z or an offset, or a bare date
        "created_at-gt": ([F("created_at", "gt", iso(pivot))], lambda s: s.created_at > pivot),
        "created_at-lt": ([F("created_at", "lt", iso(pivot))], lambda s: s.created_at < pivot),
        "created_at-eq": ([F("created_at", "eq", iso(pivot))], lambda s: s.created_at == pivot),
        "created_at-neq": ([F("created_at", "neq", iso(pivot))], lambda s: s.created_at != pivot),
        "created_at-gt-offset": ([F("created_at", "gt", iso(pivot, 5))], lambda s: s.created_at > pivot),
        "created_at-lt-offset": ([F("created_at", "lt", iso(pivot, -3))], lambda s: s.created_at < pivot),
        "created_at-gt-date": ([F("created_at", "gt", "2020-01-01")], every),
        "created_at-lt-date": ([F("created_at", "lt", "2020-01-01")], none),
        # several filters: ANDed; the multi-valued one first (the Python SDK's wire is grouped)
        "contract-example": (
            [
                F("model", "eq", "gpt-4o-mini", "text-embedding-3-small"),
                F("success", "eq", True),
                F("cost", "gt", 0.00001),
            ],
            lambda s: s.model in ("gpt-4o-mini", "text-embedding-3-small")
            and s.success
            and s.cost > 0.00001,
        ),
        "two-text-filters": (
            [F("model", "eq", "gpt-4o-mini", ANTHROPIC_MODEL), F("provider", "eq", "openai")],
            lambda s: s.model in ("gpt-4o-mini", ANTHROPIC_MODEL) and s.provider == "openai",
        ),
        "metadata-and-provider": (
            [F("metadata.key", "eq", "team"), F("provider", "eq", "openai"), F("success", "eq", True)],
            lambda s: "team" in (s.metadata or {}) and s.provider == "openai" and s.success,
        ),
        "range": (
            [F("tokens_in", "gt", 9), F("tokens_in", "lt", 41)],
            lambda s: s.tokens_in is not None and 9 < s.tokens_in < 41,
        ),
    }


FILTER_CASES = [
    "success-eq-true", "success-eq-false", "success-neq-true",
    "cached-eq-false", "cached-eq-true", "cached-neq-false",
    "provider-eq", "provider-eq-any", "provider-neq", "provider-contains",
    "model-eq-any", "model-neq", "model-neq-any", "model-contains", "model-contains-any",
    "model_type-eq", "model_type-neq", "model_type-contains",
    "request_type-eq", "request_type-neq", "request_type-contains",
    "event_id-eq", "event_id-neq", "event_id-contains",
    "id-eq", "id-neq", "id-contains",
    "user_agent-eq", "user_agent-neq", "user_agent-contains",
    "metadata.key-eq", "metadata.key-neq", "metadata.key-contains",
    "metadata.value-eq", "metadata.value-eq-number", "metadata.value-eq-one", "metadata.value-eq-float",
    "metadata.value-eq-bool", "metadata.value-neq", "metadata.value-contains",
    "metadata.value-contains-non-ascii",
    "cost-gt", "cost-lt", "cost-eq", "cost-neq",
    "tokens_in-eq", "tokens_in-neq", "tokens_in-lt", "tokens_in-gt",
    "tokens_out-eq", "tokens_out-neq", "tokens_out-lt", "tokens_out-gt",
    "tokens-eq", "tokens-gt", "tokens-lt", "tokens-neq",
    "duration-gt", "duration-lt", "duration-eq", "duration-neq",
    "status_code-eq", "status_code-neq", "status_code-gt", "status_code-lt",
    "created_at-gt", "created_at-lt", "created_at-eq", "created_at-neq",
    "created_at-gt-offset", "created_at-lt-offset", "created_at-gt-date", "created_at-lt-date",
    "contract-example", "two-text-filters", "metadata-and-provider", "range",
]


def test_filter_cases_cover_every_case(ds):
    assert sorted(filter_cases(ds)) == sorted(FILTER_CASES)


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filter_sdk_grouped_form(ds, cf, case):
    filters, pred = filter_cases(ds)[case]
    expected = ds.ids(pred)
    assert_exactly(list_all(cf, ds.gid, filters=filters), expected)
    # The same through the pages, and the total agrees.
    page = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, filters=filters, per_page=3)
    assert page.result_info.total_count == len(expected)
    assert_exactly(list(cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, filters=filters, per_page=3)), expected)


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filter_ts_interleaved_form(ds, admin_api, case):
    filters, pred = filter_cases(ds)[case]
    resp = HTTP.get(
        with_query(logs_url(admin_api, ds.gid), interleaved(filters) + [("per_page", "50")]),
        headers=bearer(admin_api),
    )
    assert resp.status_code == 200, resp.text
    sent = [k for k, _ in urllib.parse.parse_qsl(resp.request.url.query.decode(), keep_blank_values=True)]
    assert sent[:-1] == [k for k, _ in interleaved(filters)], "not the interleaved wire"
    body = resp.json()
    assert_exactly(body["result"], ds.ids(pred))
    assert body["result_info"]["total_count"] == len(ds.ids(pred))


def test_sdk_really_sends_the_grouped_form(admin_api, ds):
    """The wire the tests above rely on: httpx groups repeated keys by first occurrence."""
    client, sent = counting_client(admin_api)
    filters = filter_cases(ds)["contract-example"][0]
    with client:
        client.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, filters=filters)
    names = [k for k, _ in httpx.QueryParams(sent[0].url.query).multi_items() if k.startswith("filters")]
    assert names == ["filters.key"] * 3 + ["filters.operator"] * 3 + ["filters.value"] * 4


def test_grouped_values_follow_the_documented_rule(ds, admin_api):
    """With several text filters the Python wire cannot say whose values are whose; aigw's
    documented rule gives the earlier filter the surplus. The interleaved wire is exact."""
    filters = [F("provider", "eq", "openai"), F("model", "eq", "gpt-4o-mini", "text-embedding-3-small")]
    resp = HTTP.get(with_query(logs_url(admin_api, ds.gid), grouped(filters) + [("per_page", "50")]),
                     headers=bearer(admin_api))
    assert resp.status_code == 200, resp.text
    # Read as provider in [openai, gpt-4o-mini] and model in [text-embedding-3-small].
    assert_exactly(resp.json()["result"], ds.ids(lambda s: s.model == "text-embedding-3-small"))
    resp = HTTP.get(with_query(logs_url(admin_api, ds.gid), interleaved(filters) + [("per_page", "50")]),
                     headers=bearer(admin_api))
    assert_exactly(
        resp.json()["result"],
        ds.ids(lambda s: s.provider == "openai" and s.model in ("gpt-4o-mini", "text-embedding-3-small")),
    )


def test_filters_as_json_and_brackets_are_accepted_too(ds, admin_api):
    expected = ds.ids(lambda s: s.model in ("gpt-4o-mini", ANTHROPIC_MODEL) and s.provider == "anthropic")
    as_json = json.dumps([F("model", "eq", "gpt-4o-mini", ANTHROPIC_MODEL), F("provider", "eq", "anthropic")])
    brackets = [
        ("filters[0][key]", "model"), ("filters[0][operator]", "eq"),
        ("filters[0][value][0]", "gpt-4o-mini"), ("filters[0][value][1]", ANTHROPIC_MODEL),
        ("filters[1][key]", "provider"), ("filters[1][operator]", "eq"), ("filters[1][value][0]", "anthropic"),
    ]
    for params in ([("filters", as_json)], brackets):
        resp = HTTP.get(with_query(logs_url(admin_api, ds.gid), params), headers=bearer(admin_api))
        assert resp.status_code == 200, resp.text
        assert_exactly(resp.json()["result"], expected)


def test_null_filter_values(ds, admin_api):
    """`eq null` is "has none", `neq null` is "has one" (JSON null, `null`, or an empty value)."""
    has_event = ds.ids(lambda s: s.event_id is not None)
    for value in ("null", ""):
        for op, expected in (("eq", {s.id for s in ds.logs} - has_event), ("neq", has_event)):
            params = [("filters.key", "event_id"), ("filters.operator", op), ("filters.value", value)]
            resp = HTTP.get(with_query(logs_url(admin_api, ds.gid), params), headers=bearer(admin_api))
            assert resp.status_code == 200, resp.text
            assert_exactly(resp.json()["result"], expected)


# --------------------------------------------------------------------------------------------
# Deprecated flat parameters (the SDK still sends them)
# --------------------------------------------------------------------------------------------


def deprecated_cases(ds: Dataset) -> dict[str, tuple[dict, Callable[[Sent], bool]]]:
    by = ds.by
    a1, b1 = by["a1"], by["b1"]
    pivot = ds.logs[5].created_at
    pivot_dt = datetime.fromtimestamp(pivot / 1000, tz=timezone.utc)
    return {
        "success-false": ({"success": False}, lambda s: not s.success),
        "success-true-and-model": (
            {"success": True, "model": "gpt-4o-mini"},
            lambda s: s.success and s.model == "gpt-4o-mini",
        ),
        "cached-false": ({"cached": False}, every),
        "provider": ({"provider": "anthropic"}, lambda s: s.provider == "anthropic"),
        "model": ({"model": ANTHROPIC_MODEL}, lambda s: s.model == ANTHROPIC_MODEL),
        "model_type": ({"model_type": "embedding"}, lambda s: s.model_type == "embedding"),
        "request_content_type": ({"request_content_type": "application/json"}, every),
        # min_*/max_* bounds are inclusive
        "min_cost": ({"min_cost": b1.cost}, lambda s: s.cost is not None and s.cost >= b1.cost),
        "max_cost": ({"max_cost": a1.cost}, lambda s: s.cost is not None and s.cost <= a1.cost),
        "min_max_cost": (
            {"min_cost": a1.cost, "max_cost": b1.cost},
            lambda s: s.cost is not None and a1.cost <= s.cost <= b1.cost,
        ),
        "min_tokens_in": ({"min_tokens_in": 40}, lambda s: (s.tokens_in or 0) >= 40),
        "max_tokens_in": ({"max_tokens_in": 10}, lambda s: s.tokens_in is not None and s.tokens_in <= 10),
        "min_tokens_out": ({"min_tokens_out": 7}, lambda s: (s.tokens_out or 0) >= 7),
        "max_tokens_out": ({"max_tokens_out": 2}, lambda s: s.tokens_out is not None and s.tokens_out <= 2),
        "min_total_tokens": ({"min_total_tokens": 48}, lambda s: s.success and s.tokens >= 48),
        "max_total_tokens": (
            {"max_total_tokens": 15, "success": True},
            lambda s: s.success and s.tokens <= 15,
        ),
        "min_duration": ({"min_duration": DURATION_CUT}, lambda s: s.duration >= DURATION_CUT),
        "max_duration": ({"max_duration": DURATION_CUT}, lambda s: s.duration <= DURATION_CUT),
        "start_date": ({"start_date": pivot_dt}, lambda s: s.created_at >= pivot),
        "end_date": ({"end_date": pivot_dt}, lambda s: s.created_at <= pivot),
        "start_date-string": ({"start_date": "2020-01-01"}, every),
        "end_date-string": ({"end_date": "2020-01-01T00:00:00Z"}, none),
        "with-filters": (
            {"success": True, "filters": [F("provider", "eq", "openai")], "min_tokens_in": 12},
            lambda s: s.success and s.provider == "openai" and (s.tokens_in or 0) >= 12,
        ),
    }


DEPRECATED_CASES = [
    "success-false", "success-true-and-model", "cached-false", "provider", "model", "model_type",
    "request_content_type", "min_cost", "max_cost", "min_max_cost", "min_tokens_in",
    "max_tokens_in", "min_tokens_out", "max_tokens_out", "min_total_tokens", "max_total_tokens",
    "min_duration", "max_duration", "start_date", "end_date", "start_date-string",
    "end_date-string", "with-filters",
]


def test_deprecated_cases_cover_every_case(ds):
    assert sorted(deprecated_cases(ds)) == sorted(DEPRECATED_CASES)


@pytest.mark.parametrize("case", DEPRECATED_CASES)
def test_deprecated_flat_params(ds, cf, case):
    params, pred = deprecated_cases(ds)[case]
    assert_exactly(list_all(cf, ds.gid, **params), ds.ids(pred))


# --------------------------------------------------------------------------------------------
# Search and order
# --------------------------------------------------------------------------------------------


def searchable(s: Sent) -> str:
    meta = json.dumps(s.metadata, separators=(",", ":"), ensure_ascii=False) if s.metadata is not None else ""
    return " ".join([s.path, s.model, s.provider, meta]).lower()


@pytest.mark.parametrize(
    "term",
    ["ALPHA", "alpha-team", "embeddings", "SONNET", "anthropic", "v1/messages", "chat/compl",
     "3.5", "Flag", "no-such-thing", "%", "_", "münchen", "MÜNCHEN"],
)
def test_search_is_a_case_insensitive_substring(ds, cf, term):
    assert_exactly(list_all(cf, ds.gid, search=term), ds.ids(lambda s: term.lower() in searchable(s)))


def test_search_by_log_id_and_with_filters(ds, cf):
    ant = ds.by["ant"]
    assert_exactly(list_all(cf, ds.gid, search=ant.id), {ant.id})
    assert_exactly(
        list_all(cf, ds.gid, search="alpha", filters=[F("provider", "eq", "openai")]),
        ds.ids(lambda s: "alpha" in searchable(s) and s.provider == "openai"),
    )
    # Blank search is no search.
    assert_exactly(list_all(cf, ds.gid, search="   "), {s.id for s in ds.logs})
    page = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, search="alpha", per_page=1)
    assert page.result_info.total_count == len(ds.ids(lambda s: "alpha" in searchable(s)))


def test_default_order_is_newest_first(ds, cf):
    ids = [log.id for log in list_all(cf, ds.gid, per_page=4)]
    assert ids == [s.id for s in reversed(ds.logs)]


ORDER_COLUMNS = ["created_at", "provider", "model", "model_type", "success", "cached"]


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("column", ORDER_COLUMNS)
def test_order_by(ds, cf, column, direction):
    """Sorted on the column, ties by time; stable across pages."""
    got = [log.id for log in list_all(cf, ds.gid, order_by=column, order_by_direction=direction, per_page=5)]
    expected = sorted(ds.logs, key=lambda s: (getattr(s, column), s.created_at, s.seq), reverse=direction == "desc")
    assert [getattr(ds.by_id[i], column) for i in got] == [getattr(s, column) for s in expected]
    assert got == [s.id for s in expected]


def test_legacy_direction_param(ds, cf):
    asc = [log.id for log in list_all(cf, ds.gid, direction="asc")]
    assert asc == [s.id for s in ds.logs]
    # order_by_direction wins over the legacy name.
    desc = [log.id for log in list_all(cf, ds.gid, direction="asc", order_by_direction="desc")]
    assert desc == [s.id for s in reversed(ds.logs)]


# --------------------------------------------------------------------------------------------
# meta_info
# --------------------------------------------------------------------------------------------


def expected_meta(logs: list[Sent]) -> dict[str, Any]:
    def span(values):
        values = [v for v in values if v is not None]
        return min(values), max(values)

    out = {}
    for name, values in (
        ("cost", [s.cost for s in logs]),
        ("duration", [s.duration for s in logs]),
        ("tokens_in", [s.tokens_in for s in logs]),
        ("tokens_out", [s.tokens_out for s in logs]),
    ):
        out[f"min_{name}"], out[f"max_{name}"] = span(values)
    return out


def test_meta_info_over_every_log(ds, cf):
    page = cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, meta_info=True, per_page=2)
    info = page.result_info.model_dump()
    assert info["total_count"] == 12 and info["count"] == 2
    for k, v in expected_meta(ds.logs).items():
        assert info[k] == pytest.approx(v, rel=1e-12), k
    assert info["max_total_tokens"] == max(s.tokens for s in ds.logs)


def test_meta_info_over_the_filtered_logs(ds, cf):
    """Stats are over everything the filters match, not the page."""
    matched = [s for s in ds.logs if s.success and s.provider == "openai"]
    page = cf.ai_gateway.logs.list(
        ds.gid,
        account_id=ACCOUNT,
        meta_info=True,
        per_page=1,
        page=2,
        filters=[F("success", "eq", True), F("provider", "eq", "openai")],
    )
    info = page.result_info.model_dump()
    assert info["total_count"] == len(matched) and info["count"] == 1 and info["page"] == 2
    for k, v in expected_meta(matched).items():
        assert info[k] == pytest.approx(v, rel=1e-12), k
    assert info["min_total_tokens"] == min(s.tokens for s in matched)
    assert info["max_total_tokens"] == max(s.tokens for s in matched)


# --------------------------------------------------------------------------------------------
# One log: detail, payloads, edit
# --------------------------------------------------------------------------------------------


def test_get_detail_with_heads_and_sizes(admin_api, cf, fresh):
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}, separators=(",", ":")).encode()
    resp = HTTP.post(
        f"{admin_api.gw.base('openai', fresh)}/chat/completions",
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {CALLER_OPENAI_KEY}",
            "cf-aig-metadata": json.dumps({"team": "detail"}),
            "x-mock-prompt-tokens": "21",
            "x-mock-completion-tokens": "4",
        },
    )
    assert resp.status_code == 200
    log_id = log_id_of(resp.headers)
    admin_api.gw.flush()
    log = cf.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert log.id == log_id and log.success is True and log.status_code == 200
    assert (log.provider, log.model, log.ai_model_type, log.path) == ("openai", "gpt-4o-mini", "chat", "chat/completions")
    assert (log.tokens_in, log.tokens_out) == (21, 4)
    assert log.cost == pytest.approx(expected_cost("openai", "gpt-4o-mini", 21, 4), rel=1e-12)
    assert json.loads(log.metadata) == {"team": "detail"}
    assert log.request_head == body.decode() and log.request_head_complete is True
    assert log.request_size == len(body)
    assert log.response_head == resp.text and log.response_head_complete is True
    assert log.response_size == len(resp.content)
    assert log.request_content_type == "application/json"
    assert log.response_content_type.startswith("application/json")
    # The list item is the same log.
    listed = cf.ai_gateway.logs.list(fresh, account_id=ACCOUNT).result[0]
    for field in ("id", "cached", "created_at", "duration", "model", "path", "provider", "success",
                  "tokens_in", "tokens_out", "cost", "metadata", "ai_model_type", "status_code"):
        assert getattr(listed, field) == getattr(log, field), field
    # logs.request / logs.response: the stored payloads themselves, JSON as parsed objects.
    assert cf.ai_gateway.logs.request(log_id, account_id=ACCOUNT, gateway_id=fresh) == json.loads(body)
    assert cf.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=fresh) == resp.json()


def test_get_detail_of_a_large_response_has_a_partial_head(admin_api, cf, fresh):
    resp = HTTP.post(
        f"{admin_api.gw.base('openai', fresh)}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}", "x-mock-body-bytes": "6000"},
    )
    assert resp.status_code == 200 and len(resp.content) > 4000
    log_id = log_id_of(resp.headers)
    admin_api.gw.flush()
    log = cf.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert log.response_size == len(resp.content)
    assert log.response_head_complete is False
    assert 0 < len(log.response_head.encode()) < len(resp.content)
    assert resp.text.startswith(log.response_head)
    assert cf.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=fresh) == resp.json()


def test_stream_response_payload_is_returned_as_text(admin_api, cf, fresh):
    client = openai.OpenAI(base_url=admin_api.gw.base("openai", fresh), api_key=CALLER_OPENAI_KEY, max_retries=0)
    try:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        log_id = log_id_of(stream.response.headers)
    finally:
        client.close()
    admin_api.gw.flush()
    payload = cf.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert isinstance(payload, str) and "data:" in payload and "[DONE]" in payload
    assert text and "chat.completion.chunk" in payload
    request = cf.ai_gateway.logs.request(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert request["stream"] is True and request["messages"] == MESSAGES


def test_payload_of_a_log_without_bodies_is_not_found(admin_api, cf, fresh):
    resp = HTTP.post(
        f"{admin_api.gw.base('openai', fresh)}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}", "cf-aig-collect-log-payload": "false"},
    )
    log_id = log_id_of(resp.headers)
    admin_api.gw.flush()
    log = cf.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert log.success is True and log.request_head is None and log.response_head is None
    for call in (cf.ai_gateway.logs.request, cf.ai_gateway.logs.response):
        with pytest.raises(cloudflare.NotFoundError) as info:
            call(log_id, account_id=ACCOUNT, gateway_id=fresh)
        assert_api_error(info.value, 404, 7002)


def test_non_json_payloads_are_returned_as_text(admin_api, cf, fresh):
    """A non-JSON payload comes back with its own content type; the SDK returns the text."""
    resp = HTTP.post(
        f"{admin_api.gw.base('openai', fresh)}/audio/transcriptions",
        content=b"plain words, not JSON",
        headers={"authorization": f"Bearer {CALLER_OPENAI_KEY}", "content-type": "text/plain"},
    )
    log_id = log_id_of(resp.headers)
    admin_api.gw.flush()
    assert cf.ai_gateway.logs.request(log_id, account_id=ACCOUNT, gateway_id=fresh) == "plain words, not JSON"
    raw = HTTP.get(logs_url(admin_api, fresh, log_id=log_id, tail="/request"), headers=bearer(admin_api))
    assert raw.headers["content-type"].startswith("text/plain")
    # The provider's error answer is JSON, returned as the object.
    assert cf.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=fresh) == resp.json()
    log = cf.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=fresh)
    assert log.request_content_type == "text/plain" and log.request_head == "plain words, not JSON"
    assert log.success is False and log.status_code == resp.status_code


def test_error_log_response_is_the_providers_error(ds, cf):
    body = cf.ai_gateway.logs.response(ds.by["r429"].id, account_id=ACCOUNT, gateway_id=ds.gid)
    assert body["error"]["code"] == "rate_limit_exceeded"


def make_logs(admin_api, gid: str, specs: list[Spec]) -> list[Sent]:
    logs = [send(admin_api.gw, gid, spec) for spec in specs]
    fill_from_db(admin_api.gw, logs)
    return logs


def test_edit_then_get(admin_api, cf, fresh):
    one, two = make_logs(
        admin_api, fresh, [Spec("one", "chat", metadata={"team": "x"}), Spec("two", "chat")]
    )
    result = cf.ai_gateway.logs.edit(
        one.id, account_id=ACCOUNT, gateway_id=fresh, feedback=1, score=50, metadata={"a": "b", "n": 1, "t": True}
    )
    assert result is not None
    log = cf.ai_gateway.logs.get(one.id, account_id=ACCOUNT, gateway_id=fresh)
    assert json.loads(log.metadata) == {"a": "b", "n": 1, "t": True}
    assert log.feedback == 1 and log.score == 50
    # Other fields untouched.
    assert (log.tokens_in, log.tokens_out, log.success) == (10, 5, True)
    # The new metadata is what filters and search see now.
    assert_exactly(list_all(cf, fresh, filters=[F("metadata.value", "eq", "b")]), {one.id})
    assert_exactly(list_all(cf, fresh, filters=[F("metadata.key", "eq", "team")]), set())
    # Feedback: the filter key and the deprecated flag (1 = thumbs up, 0 = thumbs down).
    assert_exactly(list_all(cf, fresh, filters=[F("feedback", "eq", 1)]), {one.id})
    assert_exactly(list_all(cf, fresh, feedback=1), {one.id})
    cf.ai_gateway.logs.edit(two.id, account_id=ACCOUNT, gateway_id=fresh, feedback=-1, score=0)
    assert_exactly(list_all(cf, fresh, feedback=0), {two.id})
    assert cf.ai_gateway.logs.get(two.id, account_id=ACCOUNT, gateway_id=fresh).score == 0
    # Only what is sent changes; null clears.
    cf.ai_gateway.logs.edit(one.id, account_id=ACCOUNT, gateway_id=fresh, score=100)
    log = cf.ai_gateway.logs.get(one.id, account_id=ACCOUNT, gateway_id=fresh)
    assert (log.feedback, log.score) == (1, 100) and json.loads(log.metadata)["a"] == "b"
    cf.ai_gateway.logs.edit(one.id, account_id=ACCOUNT, gateway_id=fresh, feedback=None, metadata=None)
    log = cf.ai_gateway.logs.get(one.id, account_id=ACCOUNT, gateway_id=fresh)
    assert log.feedback is None and log.metadata is None and log.score == 100
    # An empty patch (the SDK sends `{}`) changes nothing.
    assert cf.ai_gateway.logs.edit(one.id, account_id=ACCOUNT, gateway_id=fresh) is not None
    assert cf.ai_gateway.logs.get(one.id, account_id=ACCOUNT, gateway_id=fresh).model_dump() == log.model_dump()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"feedback": 2}, "feedback"),
        ({"feedback": -2}, "feedback"),
        ({"feedback": "up"}, "feedback"),
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"score": "high"}, "score"),
        ({"metadata": {"a": {"b": 1}}}, "metadata"),
        ({"metadata": {"a": [1, 2]}}, "metadata"),
        ({"metadata": "text"}, "metadata"),
    ],
)
def test_edit_with_a_bad_body_is_a_400(ds, cf, body, field):
    log_id = ds.by["a1"].id
    with pytest.raises(cloudflare.BadRequestError) as info:
        cf.ai_gateway.logs.edit(log_id, account_id=ACCOUNT, gateway_id=ds.gid, **body)
    assert_api_error(info.value, 400, 7001, ["body", field])
    # Nothing changed.
    log = cf.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=ds.gid)
    assert json.loads(log.metadata) == ds.by["a1"].metadata and log.feedback is None


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"x"'])
def test_edit_with_a_body_that_is_not_an_object_is_a_400(ds, admin_api, raw):
    resp = HTTP.patch(
        logs_url(admin_api, ds.gid, log_id=ds.by["a1"].id),
        content=raw,
        headers={**bearer(admin_api), "content-type": "application/json"},
    )
    body = assert_raw_error(resp, 400, 7001)
    assert body["errors"][0]["path"][0] == "body"


def test_unknown_log_or_gateway_is_a_404(ds, cf):
    real = ds.by["a1"].id
    calls = {
        "get": lambda gid, lid: cf.ai_gateway.logs.get(lid, account_id=ACCOUNT, gateway_id=gid),
        "edit": lambda gid, lid: cf.ai_gateway.logs.edit(lid, account_id=ACCOUNT, gateway_id=gid, score=1),
        "request": lambda gid, lid: cf.ai_gateway.logs.request(lid, account_id=ACCOUNT, gateway_id=gid),
        "response": lambda gid, lid: cf.ai_gateway.logs.response(lid, account_id=ACCOUNT, gateway_id=gid),
    }
    for name, call in calls.items():
        for gid, lid in ((ds.gid, "01JADMCQQQBWH3NXZ5GCRN98DP"), ("no-such-gateway", real)):
            with pytest.raises(cloudflare.NotFoundError) as info:
                call(gid, lid)
            assert_api_error(info.value, 404, 7002)
            assert info.value.body["errors"][0]["message"] == "Not Found"
            assert info.value.body["result"] is None
    for call in (
        lambda: cf.ai_gateway.logs.list("no-such-gateway", account_id=ACCOUNT),
        lambda: cf.ai_gateway.logs.delete("no-such-gateway", account_id=ACCOUNT),
    ):
        with pytest.raises(cloudflare.NotFoundError) as info:
            call()
        assert_api_error(info.value, 404, 7002)
    # The log still exists where it belongs, untouched.
    assert cf.ai_gateway.logs.get(real, account_id=ACCOUNT, gateway_id=ds.gid).id == real


def test_a_log_is_only_found_under_its_own_gateway(ds, admin_api, cf, fresh):
    """Same account, another gateway: the log id is not there."""
    with pytest.raises(cloudflare.NotFoundError):
        cf.ai_gateway.logs.get(ds.by["a1"].id, account_id=ACCOUNT, gateway_id=fresh)
    assert list_all(cf, fresh) == []


# --------------------------------------------------------------------------------------------
# Bulk delete
# --------------------------------------------------------------------------------------------


def test_delete_with_filters(admin_api, cf, fresh):
    logs = make_logs(
        admin_api,
        fresh,
        [
            Spec("ok1", "chat"),
            Spec("bad1", "chat", status=500),
            Spec("emb", "embeddings", (8, 0)),
            Spec("bad2", "chat", status=429),
            Spec("ok2", "chat", metadata={"keep": "yes"}),
        ],
    )
    by = {s.name: s for s in logs}
    result = cf.ai_gateway.logs.delete(fresh, account_id=ACCOUNT, filters=[F("success", "eq", False)])
    assert result.success is True
    assert_exactly(list_all(cf, fresh), {by[n].id for n in ("ok1", "emb", "ok2")})
    for gone in ("bad1", "bad2"):
        with pytest.raises(cloudflare.NotFoundError):
            cf.ai_gateway.logs.get(by[gone].id, account_id=ACCOUNT, gateway_id=fresh)
    # The SDK's grouped form with several filters.
    result = cf.ai_gateway.logs.delete(
        fresh,
        account_id=ACCOUNT,
        filters=[F("model", "eq", "gpt-4o-mini", "text-embedding-3-small"), F("metadata.key", "neq", "keep")],
    )
    assert result.success is True
    assert_exactly(list_all(cf, fresh), {by["ok2"].id})
    # Payloads went with their logs.
    admin_api.gw.flush()
    assert admin_api.gw.query(
        "SELECT count(*) AS n FROM log_payloads p JOIN logs l ON l.seq = p.seq WHERE l.gateway_id = ?", (fresh,)
    )[0]["n"] == 1
    assert admin_api.gw.query(
        "SELECT count(*) AS n FROM log_payloads WHERE seq NOT IN (SELECT seq FROM logs)"
    )[0]["n"] == 0


def test_delete_with_limit_and_order(admin_api, cf, fresh):
    logs = make_logs(admin_api, fresh, [Spec(f"n{i}", "chat", (10 + i, 1)) for i in range(5)])
    cf.ai_gateway.logs.delete(fresh, account_id=ACCOUNT, limit=2, order_by="created_at", order_by_direction="asc")
    assert_exactly(list_all(cf, fresh), {s.id for s in logs[2:]})
    cf.ai_gateway.logs.delete(fresh, account_id=ACCOUNT, limit=1, order_by="tokens_in", order_by_direction="desc")
    assert_exactly(list_all(cf, fresh), {s.id for s in logs[2:4]})
    # The TS wire form, and a filter that matches nothing deletes nothing.
    resp = HTTP.delete(
        with_query(logs_url(admin_api, fresh), interleaved([F("model", "eq", "nope", "never")])),
        headers=bearer(admin_api),
    )
    assert resp.status_code == 200 and resp.json()["success"] is True
    assert len(list_all(cf, fresh)) == 2
    # No filters: every log of this gateway, and no other gateway's.
    cf.ai_gateway.logs.delete(fresh, account_id=ACCOUNT)
    assert list_all(cf, fresh) == []


def test_delete_leaves_other_gateways_alone(ds, admin_api, cf, fresh):
    make_logs(admin_api, fresh, [Spec("x", "chat")])
    cf.ai_gateway.logs.delete(fresh, account_id=ACCOUNT, filters=[F("provider", "eq", "openai")])
    assert list_all(cf, fresh) == []
    assert len(list_all(cf, ds.gid)) == 12


@pytest.mark.parametrize(
    "params,path",
    [
        ([("search", "alpha")], ["query", "search"]),
        ([("limit", "0")], ["query", "limit"]),
        ([("limit", "10001")], ["query", "limit"]),
        ([("order_by", "nope")], ["query", "order_by"]),
        ([("order_by_direction", "up")], ["query", "order_by_direction"]),
        (interleaved([F("nope", "eq", "x")]), ["query", "filters", 0, "key"]),
        (interleaved([F("success", "contains", "true")]), ["query", "filters", 0, "operator"]),
        (interleaved([F("created_at", "lt", "yesterday")]), ["query", "filters", 0, "value"]),
    ],
)
def test_delete_refuses_bad_queries_and_deletes_nothing(ds, admin_api, params, path):
    resp = HTTP.delete(with_query(logs_url(admin_api, ds.gid), params), headers=bearer(admin_api))
    body = assert_raw_error(resp, 400, 7001)
    assert body["errors"][0]["path"] == path
    admin_api.gw.flush()
    assert admin_api.gw.query("SELECT count(*) AS n FROM logs WHERE gateway_id = ?", (ds.gid,))[0]["n"] == 12


# --------------------------------------------------------------------------------------------
# Validation errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,path",
    [
        ({"filters": [F("nope", "eq", "x")]}, ["query", "filters", 0, "key"]),
        ({"filters": [F("provider", "eq", "openai"), F("colour", "eq", "red")]}, ["query", "filters", 1, "key"]),
        ({"filters": [F("success", "contains", True)]}, ["query", "filters", 0, "operator"]),
        ({"filters": [F("cost", "contains", 1)]}, ["query", "filters", 0, "operator"]),
        ({"filters": [F("model", "lt", "a")]}, ["query", "filters", 0, "operator"]),
        ({"filters": [F("model", "like", "a")]}, ["query", "filters", 0, "operator"]),
        ({"filters": [F("created_at", "gt", "not-a-date")]}, ["query", "filters", 0, "value"]),
        ({"filters": [F("created_at", "gt", "2025-13-45T99:00:00Z")]}, ["query", "filters", 0, "value"]),
        ({"filters": [F("cost", "gt", "cheap")]}, ["query", "filters", 0, "value"]),
        ({"filters": [F("success", "eq", "maybe")]}, ["query", "filters", 0, "value"]),
        ({"per_page": 0}, ["query", "per_page"]),
        ({"per_page": 51}, ["query", "per_page"]),
        ({"page": 0}, ["query", "page"]),
        ({"page": -1}, ["query", "page"]),
        ({"start_date": "soon"}, ["query", "start_date"]),
        ({"min_cost": "lots"}, ["query", "min_cost"]),
        ({"search": "x" * 300}, ["query", "search"]),
    ],
)
def test_list_validation_errors_through_the_sdk(ds, cf, params, path):
    with pytest.raises(cloudflare.BadRequestError) as info:
        cf.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, **params)
    assert_api_error(info.value, 400, 7001, path)
    assert info.value.body["result"] is None and info.value.body["messages"] == []


@pytest.mark.parametrize(
    "query,param",
    [
        ("per_page=abc", "per_page"),
        ("per_page=1.5", "per_page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("order_by=nope", "order_by"),
        ("order_by=cost", "order_by"),  # delete-only column
        ("order_by_direction=sideways", "order_by_direction"),
        ("direction=sideways", "direction"),
        ("meta_info=perhaps", "meta_info"),
        ("success=perhaps", "success"),
        ("feedback=2", "feedback"),
        ("max_duration=NaN", "max_duration"),
        ("filters.key=model&filters.operator=eq", "filters"),
        ("filters.key=model", "filters"),
        ("filters.operator=eq&filters.value=x", "filters"),
        ("filters.key=model&filters.key=provider&filters.operator=eq&filters.operator=eq&filters.value=x", "filters"),
        ("filters.key=model&filters.operator=eq&filters.operator=eq&filters.value=x", "filters"),
        ("filters.key=cost&filters.operator=gt&filters.value=null", "filters"),
        ("filters.key=model&filters.operator=eq&filters.value=a&filters.colour=red", "filters"),
        ("filters=not-json", "filters"),
        ("filters=%5B%7B%22key%22%3A1%7D%5D", "filters"),
        ("filters[0][key]=model&filters[0][operator]=eq", "filters"),
        ("filters[x]=1", "filters"),
        ("filters.key=model&filters.operator=eq&filters.value=a&filters[0][key]=model", "filters"),
    ],
)
def test_garbage_queries_are_400_never_500(ds, admin_api, query, param):
    resp = HTTP.get(f"{logs_url(admin_api, ds.gid)}?{query}", headers=bearer(admin_api))
    body = assert_raw_error(resp, 400, 7001)
    path = body["errors"][0]["path"]
    assert path[0] == "query" and path[1] == param, body


@pytest.mark.parametrize(
    "query",
    [
        "",
        "per_page=25.0",
        "page=",
        "per_page=&page=",
        "unknown_param=1",
        "filtersfoo=1",
        "search=%25%25",
        "search=%FF%FE",
        "search=%00",
        "search=a&search=b",
        "order_by=created_at&order_by=model",
        "meta_info=1",
        "filters.key=model&filters.operator=eq&filters.value=%FF",
        "filters.key=id&filters.operator=contains&filters.value=%27%20OR%201%3D1%20--",
        "filters.key=metadata.value&filters.operator=eq&filters.value=%22%5D%7D",
        "filters.key=created_at&filters.operator=gt&filters.value=2025-01-01T00:00:00+00:00",
        "start_date=2025-01-01T00:00:00+00:00",
        "%ZZ=%ZZ",
        "&&&=&",
    ],
)
def test_odd_but_harmless_queries_are_200(ds, admin_api, query):
    resp = HTTP.get(f"{logs_url(admin_api, ds.gid)}?{query}", headers=bearer(admin_api))
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True


def test_an_absurd_page_is_empty_or_a_400_never_a_500(ds, admin_api):
    resp = HTTP.get(f"{logs_url(admin_api, ds.gid)}?page=99999999999999999999", headers=bearer(admin_api))
    if resp.status_code == 200:
        assert resp.json()["result"] == []
    else:
        assert_raw_error(resp, 400, 7001)


def test_too_many_filters_is_a_400(ds, admin_api):
    resp = HTTP.get(
        with_query(logs_url(admin_api, ds.gid), interleaved([F("provider", "eq", "openai")] * 51)),
        headers=bearer(admin_api),
    )
    assert_raw_error(resp, 400, 7001)
    resp = HTTP.get(
        with_query(logs_url(admin_api, ds.gid), interleaved([F("model", "eq", *[f"m{i}" for i in range(501)])])),
        headers=bearer(admin_api),
    )
    assert_raw_error(resp, 400, 7001)


def test_unknown_routes_and_methods(ds, admin_api):
    resp = HTTP.get(f"{admin_api.api_base}/accounts/{ACCOUNT}/ai-gateway/nothing-here", headers=bearer(admin_api))
    assert resp.status_code == 404 and resp.json()["success"] is False
    resp = HTTP.put(logs_url(admin_api, ds.gid), headers=bearer(admin_api))
    assert resp.status_code == 405 and resp.json()["success"] is False


def test_root_mounted_paths_work_too(ds, admin_api):
    """For clients given `base_url=http://host:port` without /client/v4."""
    url = f"{admin_api.gw.admin}/accounts/{ACCOUNT}/ai-gateway/gateways/{ds.gid}/logs"
    resp = HTTP.get(url, headers=bearer(admin_api))
    assert resp.status_code == 200 and resp.json()["result_info"]["total_count"] == 12


# --------------------------------------------------------------------------------------------
# Authentication and authorization
# --------------------------------------------------------------------------------------------


def every_endpoint(api, gid: str, log_id: str, account: str = ACCOUNT) -> list[tuple[str, str, dict]]:
    """(method, url, kwargs) for every logs and gateways endpoint."""
    gw_body = {"cache_invalidate_on_update": False, "cache_ttl": 0, "collect_logs": True,
               "rate_limiting_interval": 0, "rate_limiting_limit": 0}
    gateways = f"{api.api_base}/accounts/{account}/ai-gateway/gateways"
    return [
        ("GET", logs_url(api, gid, account), {}),
        ("DELETE", logs_url(api, gid, account), {"params": grouped([F("success", "eq", False)])}),
        ("GET", logs_url(api, gid, account, log_id), {}),
        ("PATCH", logs_url(api, gid, account, log_id), {"json": {"score": 1}}),
        ("GET", logs_url(api, gid, account, log_id, "/request"), {}),
        ("GET", logs_url(api, gid, account, log_id, "/response"), {}),
        ("GET", gateways, {}),
        ("POST", gateways, {"json": {"id": new_gateway_id("auth"), **gw_body}}),
        ("GET", f"{gateways}/{gid}", {}),
        ("PUT", f"{gateways}/{gid}", {"json": gw_body}),
        ("DELETE", f"{gateways}/{gid}", {}),
    ]


def assert_dataset_intact(admin_api, ds):
    admin_api.gw.flush()
    rows = admin_api.gw.query("SELECT feedback, score FROM logs WHERE gateway_id = ?", (ds.gid,))
    assert len(rows) == 12 and all(r["score"] is None for r in rows)
    assert admin_api.gw.query("SELECT count(*) AS n FROM gateways WHERE id = ?", (ds.gid,))[0]["n"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-auth-email": ADMIN_EMAIL},
        {"x-auth-key": "whatever"},
        {"x-auth-email": "", "x-auth-key": ""},
    ],
    ids=["none", "email-only", "key-only", "empty"],
)
def test_no_credentials_is_401(ds, admin_api, headers):
    for method, url, kwargs in every_endpoint(admin_api, ds.gid, ds.by["a1"].id):
        resp = HTTP.request(method, url, headers=headers, **kwargs)
        body = assert_raw_error(resp, 401, 10001)
        assert body["errors"][0]["message"] == "Unable to authenticate request", (method, url)
    assert_dataset_intact(admin_api, ds)


def test_sdk_without_credentials_fails_before_sending(admin_api, monkeypatch):
    for var in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_API_USER_SERVICE_KEY"):
        monkeypatch.delenv(var, raising=False)
    client = cloudflare.Cloudflare(base_url=admin_api.api_base, max_retries=0)
    with pytest.raises(TypeError):
        client.ai_gateway.list(account_id=ACCOUNT)


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"])
def test_malformed_authorization_is_400_6003(ds, admin_api, value):
    resp = HTTP.get(logs_url(admin_api, ds.gid), headers={"authorization": value})
    assert_raw_error(resp, 400, 6003)


def test_malformed_authorization_body_is_cloudflares(ds, admin_api):
    """Contract section 5: `{"code":6003,"message":"Invalid request headers",
    "error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}`."""
    resp = HTTP.get(logs_url(admin_api, ds.gid), headers={"authorization": "Basic dXNlcjpwYXNz"})
    error = assert_raw_error(resp, 400, 6003)["errors"][0]
    assert error["message"] == "Invalid request headers"
    assert error["error_chain"] == [{"code": 6111, "message": "Invalid format for Authorization header"}]


def test_wrong_token_is_403(ds, admin_api):
    bad = cloudflare.Cloudflare(api_token="aigw_at_" + "0" * 48, base_url=admin_api.api_base, max_retries=0)
    log_id = ds.by["a1"].id
    calls = [
        lambda: bad.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT),
        lambda: bad.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=ds.gid),
        lambda: bad.ai_gateway.logs.edit(log_id, account_id=ACCOUNT, gateway_id=ds.gid, score=5),
        lambda: bad.ai_gateway.logs.delete(ds.gid, account_id=ACCOUNT),
        lambda: bad.ai_gateway.logs.request(log_id, account_id=ACCOUNT, gateway_id=ds.gid),
        lambda: bad.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=ds.gid),
        lambda: bad.ai_gateway.list(account_id=ACCOUNT),
        lambda: bad.ai_gateway.get(ds.gid, account_id=ACCOUNT),
        lambda: bad.ai_gateway.delete(ds.gid, account_id=ACCOUNT),
    ]
    for call in calls:
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            call()
        assert_api_error(info.value, 403, 10000)
    # Unknown gateway or log: still 403, nothing is revealed before authentication.
    with pytest.raises(cloudflare.PermissionDeniedError):
        bad.ai_gateway.logs.list("no-such-gateway", account_id=ACCOUNT)
    bad.close()
    assert_dataset_intact(admin_api, ds)


def test_email_and_key(ds, admin_api):
    ok = cloudflare.Cloudflare(
        api_email=ADMIN_EMAIL, api_key=admin_api.tokens["email"], base_url=admin_api.api_base, max_retries=0
    )
    assert len(list(ok.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=50))) == 12
    ok.close()
    # The email is matched case-insensitively; the wrong email, or a token without one, is refused.
    resp = HTTP.get(
        logs_url(admin_api, ds.gid),
        headers={"x-auth-email": ADMIN_EMAIL.upper(), "x-auth-key": admin_api.tokens["email"]},
    )
    assert resp.status_code == 200
    for email, key in (("someone@example.com", admin_api.tokens["email"]), (ADMIN_EMAIL, admin_api.tokens["write"])):
        bad = cloudflare.Cloudflare(api_email=email, api_key=key, base_url=admin_api.api_base, max_retries=0)
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            bad.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT)
        assert_api_error(info.value, 403, 10000)
        bad.close()


def test_a_revoked_token_is_refused(ds, admin_api):
    secret = create_token(admin_api.config, "revoke-me")
    resp = HTTP.get(logs_url(admin_api, ds.gid), headers={"authorization": f"Bearer {secret}"})
    assert resp.status_code == 200
    listing = subprocess.run(
        [str(AIGW_BIN), "tokens", "list", "--config", str(admin_api.config)],
        env=child_env(), capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    assert secret not in listing
    token_id = next(line.split()[0] for line in listing.splitlines() if line.rstrip().endswith(" revoke-me"))
    subprocess.run(
        [str(AIGW_BIN), "tokens", "revoke", token_id, "--config", str(admin_api.config)],
        env=child_env(), capture_output=True, timeout=30, check=True,
    )
    resp = HTTP.get(logs_url(admin_api, ds.gid), headers={"authorization": f"Bearer {secret}"})
    assert_raw_error(resp, 403, 10000)


def test_read_only_token_reads_but_cannot_write(ds, admin_api, cf):
    ro = admin_api.client("read")
    log_id = ds.by["a1"].id
    assert len(list(ro.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT, per_page=5))) == 12
    assert ro.ai_gateway.logs.get(log_id, account_id=ACCOUNT, gateway_id=ds.gid).id == log_id
    assert ro.ai_gateway.logs.request(log_id, account_id=ACCOUNT, gateway_id=ds.gid)["model"] == "gpt-4o-mini"
    assert "choices" in ro.ai_gateway.logs.response(log_id, account_id=ACCOUNT, gateway_id=ds.gid)
    assert ds.gid in {g.id for g in ro.ai_gateway.list(account_id=ACCOUNT, per_page=100)}
    assert ro.ai_gateway.get(ds.gid, account_id=ACCOUNT).id == ds.gid
    writes = [
        lambda: ro.ai_gateway.logs.edit(log_id, account_id=ACCOUNT, gateway_id=ds.gid, feedback=1),
        lambda: ro.ai_gateway.logs.delete(ds.gid, account_id=ACCOUNT),
        lambda: ro.ai_gateway.logs.delete(ds.gid, account_id=ACCOUNT, filters=[F("success", "eq", False)]),
        lambda: create_gateway(ro, new_gateway_id("ro")),
        lambda: ro.ai_gateway.update(
            ds.gid, account_id=ACCOUNT, cache_invalidate_on_update=False, cache_ttl=0,
            collect_logs=False, rate_limiting_interval=0, rate_limiting_limit=0,
        ),
        lambda: ro.ai_gateway.delete(ds.gid, account_id=ACCOUNT),
    ]
    for call in writes:
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            call()
        assert_api_error(info.value, 403, 10000)
    ro.close()
    assert_dataset_intact(admin_api, ds)
    assert cf.ai_gateway.get(ds.gid, account_id=ACCOUNT).collect_logs is True


def test_another_accounts_token_never_sees_this_account(ds, admin_api, cf):
    other = admin_api.client("other")
    log_id = ds.by["a1"].id
    # Pointed at this account: 403 for every endpoint.
    for method, url, kwargs in every_endpoint(admin_api, ds.gid, log_id):
        resp = HTTP.request(method, url, headers=bearer(admin_api, "other"), **kwargs)
        assert_raw_error(resp, 403, 10000)
    with pytest.raises(cloudflare.PermissionDeniedError):
        other.ai_gateway.logs.list(ds.gid, account_id=ACCOUNT)
    # In its own account, the same gateway id does not exist ...
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.logs.list(ds.gid, account_id=OTHER_ACCOUNT)
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.get(ds.gid, account_id=OTHER_ACCOUNT)
    # ... and once it does, it holds none of this account's logs.
    create_gateway(other, ds.gid, account=OTHER_ACCOUNT)
    assert list(other.ai_gateway.logs.list(ds.gid, account_id=OTHER_ACCOUNT)) == []
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.logs.get(log_id, account_id=OTHER_ACCOUNT, gateway_id=ds.gid)
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.logs.edit(log_id, account_id=OTHER_ACCOUNT, gateway_id=ds.gid, score=3)
    with pytest.raises(cloudflare.NotFoundError):
        other.ai_gateway.logs.request(log_id, account_id=OTHER_ACCOUNT, gateway_id=ds.gid)
    assert other.ai_gateway.logs.delete(ds.gid, account_id=OTHER_ACCOUNT).success is True
    assert ACCOUNT not in {g.account_id for g in other.ai_gateway.list(account_id=OTHER_ACCOUNT)}
    # Deleting its namesake leaves this account's gateway and logs as they were.
    other.ai_gateway.delete(ds.gid, account_id=OTHER_ACCOUNT)
    other.close()
    assert_dataset_intact(admin_api, ds)
    assert cf.ai_gateway.get(ds.gid, account_id=ACCOUNT).id == ds.gid
    # And this account's write token cannot act on the other account either.
    with pytest.raises(cloudflare.PermissionDeniedError):
        cf.ai_gateway.list(account_id=OTHER_ACCOUNT)
    with pytest.raises(cloudflare.PermissionDeniedError):
        cf.ai_gateway.logs.list(ds.gid, account_id=OTHER_ACCOUNT)
    # An unknown account is a 403 too, not a 404 that would reveal which accounts exist.
    with pytest.raises(cloudflare.PermissionDeniedError):
        cf.ai_gateway.logs.list(ds.gid, account_id="no-such-account")


def test_zz_no_internal_error_was_logged_and_no_token_stored(admin_api):
    """Nothing above made the admin API fail internally (it logs each 500 once), and no token
    secret is in aigw's output or its database (only their hashes are stored)."""
    stderr = admin_api.gw.proc.stderr_text()
    assert "admin request failed" not in stderr
    admin_api.gw.flush()
    files = [admin_api.gw.db_path, admin_api.gw.db_path.with_name(admin_api.gw.db_path.name + "-wal")]
    stored = b"".join(f.read_bytes() for f in files if f.exists())
    for name, secret in admin_api.tokens.items():
        assert secret not in stderr, name
        assert secret.encode() not in stored, name
