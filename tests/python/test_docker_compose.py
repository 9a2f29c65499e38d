"""The docker-compose deployment, run without docker: the local binary gets the compose file's
command, environment and healthcheck, with the paths that exist only inside the image mapped to
their sources in the repository.

What this catches: a compose `command` the CLI does not accept, an environment variable aigw
does not understand or that breaks start-up, a config file the Dockerfile copies that does not
load, a healthcheck that does not pass against a healthy gateway, and a SIGTERM that does not end
the process cleanly in time.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import openai
import pytest
import yaml

from conftest import REPO, Proc, child_env, log_id_of, parse_ready

COMPOSE = REPO / "docker" / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    out = []
    for entry in logical:
        word, _, rest = entry.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    """An instruction's JSON exec form (`["a", "b"]`), or its shell form split into words."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def copies(stage: list[tuple[str, str]]) -> dict[str, str]:
    """Destination -> source of the final stage's plain COPY instructions (no --from)."""
    out = {}
    for word, args in stage:
        if word != "COPY":
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        if any(p.startswith("--from") for p in shlex.split(args)):
            continue
        *sources, dest = parts
        for source in sources:
            out[dest] = source
    return out


def compose_env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert m, duration
    return float(m[1]) * {"ms": 0.001, "s": 1, "m": 60}[m[2]]


def test_compose_service_runs_with_the_local_binary(binaries, tmp_path):
    aigw_bin, _ = binaries
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"]["aigw"]
    stage = final_stage(dockerfile_instructions())

    # --- What the image provides --------------------------------------------------------
    entrypoint = next(exec_form(a) for w, a in stage if w == "ENTRYPOINT")
    assert entrypoint == ["/usr/local/bin/aigw"]
    image_copies = copies(stage)
    docker_config = REPO / "config" / "examples" / "aigw.docker.toml"
    assert image_copies.get("/etc/aigw/aigw.toml") == "config/examples/aigw.docker.toml", (
        "the Dockerfile must COPY the example docker config to /etc/aigw/aigw.toml"
    )
    assert docker_config.is_file()
    workdir = next(a for w, a in reversed(stage) if w == "WORKDIR")
    dockerfile_health = next(a for w, a in stage if w == "HEALTHCHECK")

    # --- What compose sets --------------------------------------------------------------
    command = service["command"]
    command = command if isinstance(command, list) else shlex.split(command)
    assert command == ["serve"]
    env_compose = compose_env(service)
    assert env_compose["AIGW_CONFIG"] == "/etc/aigw/aigw.toml"
    assert image_env(stage).get("AIGW_CONFIG") == env_compose["AIGW_CONFIG"]
    assert env_compose["AIGW_DB_PATH"] == "/data/aigw.db"
    assert env_compose["AIGW_PROXY_LISTEN"] == "0.0.0.0:8080"
    assert env_compose["AIGW_ADMIN_LISTEN"] == "0.0.0.0:8081"
    assert "127.0.0.1:8080:8080" in service["ports"] and "127.0.0.1:8081:8081" in service["ports"]
    # The stop grace period outlasts aigw's own drain time.
    shutdown_grace_ms = tomllib.loads(docker_config.read_text())["proxy"]["shutdown_grace_ms"]
    assert seconds(service["stop_grace_period"]) * 1000 > shutdown_grace_ms
    assert service.get("stop_signal", "SIGTERM") == "SIGTERM"

    # env_file: .env is the operator's copy of .env.example (empty keys until filled in).
    env_files = service.get("env_file", [])
    env_files = [env_files] if isinstance(env_files, str) else env_files
    assert env_files == [".env"]
    example_env = env_file(REPO / "docker" / ".env.example")
    assert "OPENAI_API_KEY" in example_env

    # --- Map image paths to the repository / a tmp dir ----------------------------------
    data_dir = tmp_path / "data"  # stands for the /data volume (also the image's WORKDIR)
    data_dir.mkdir()
    assert workdir == "/data"
    db_path = data_dir / "aigw.db"
    env = child_env(**example_env)  # compose applies env_file first, then environment
    env.update(env_compose)
    env["AIGW_CONFIG"] = str(docker_config)
    env["AIGW_DB_PATH"] = str(db_path)
    # Compose binds 0.0.0.0:8080/8081 inside the container's own network namespace. Here they
    # would be the host's ports: fixed ports in tests collide with whatever else runs (and with
    # parallel test runs), so both listeners are moved to loopback port 0.
    env["AIGW_PROXY_LISTEN"] = "127.0.0.1:0"
    env["AIGW_ADMIN_LISTEN"] = "127.0.0.1:0"
    argv = [str(aigw_bin), *command]

    proc = Proc(argv, env, tmp_path / "aigw.stderr", cwd=data_dir)
    try:
        urls = parse_ready(proc.wait_line("aigw ready "))
        proxy, admin = urls["proxy"], urls["admin"]
        assert proxy.startswith("http://127.0.0.1:") and admin.startswith("http://127.0.0.1:")
        admin_port = admin.rsplit(":", 1)[1]

        # The admin listener is healthy.
        with urllib.request.urlopen(f"{admin}/healthz", timeout=10) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["status"] == "ok"

        # The compose healthcheck, with the image's binary path and port mapped.
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD"
        health = test[1:]
        assert health[0] == entrypoint[0]
        assert exec_form(dockerfile_health.split("CMD", 1)[1]) == health, (
            "the Dockerfile's HEALTHCHECK and the compose healthcheck differ"
        )
        health = [str(aigw_bin)] + [
            a.replace("127.0.0.1:8081", f"127.0.0.1:{admin_port}") for a in health[1:]
        ]
        assert any(admin_port in a for a in health), health
        done = subprocess.run(health, env=env, capture_output=True, timeout=15)
        assert done.returncode == 0, done.stderr.decode()
        # ... and it does fail against something that is not a healthy admin listener.
        wrong = [a.replace(admin, proxy) for a in health]
        assert subprocess.run(wrong, env=env, capture_output=True, timeout=15).returncode != 0

        # A request through the proxy. The image's config points providers at the real APIs,
        # which tests must not call, so this request is one aigw answers itself (an invalid
        # cf-aig-* header): it is routed to the image's account/gateway, answered in the
        # provider's error shape, and logged to the database at AIGW_DB_PATH.
        client = openai.OpenAI(
            base_url=f"{proxy}/v1/local/default/openai", api_key="sk-compose-test", max_retries=0
        )
        try:
            with pytest.raises(openai.BadRequestError) as info:
                client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers={"cf-aig-request-timeout": "0"},
                )
        finally:
            client.close()
        assert "cf-aig-request-timeout" in info.value.message
        log_id = log_id_of(info.value.response.headers)
        req = urllib.request.Request(f"{admin}/_aigw/flush", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        assert db_path.is_file(), f"no database at AIGW_DB_PATH ({db_path})"
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT account_id, gateway_id, provider, status_code, success FROM logs WHERE id = ?",
                (log_id,),
            ).fetchone()
        assert row == ("local", "default", "openai", 400, 0)
        assert list(tmp_path.glob("**/*.db")) == [db_path], "a database was created elsewhere"
    finally:
        # SIGTERM, as `docker stop` sends it: aigw drains and exits 0 well within 10 s.
        code = proc.terminate(timeout=10)
    assert code == 0, proc.stderr_text()
    assert "log writer drained" in proc.stderr_text()
