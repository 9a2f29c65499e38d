#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs (a Python venv with the official
# SDKs); needs only the Rust toolchain, Python 3.11 and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== Rust tests (unit and end-to-end)"
cargo build --quiet -p aigw -p aigw-mock-provider
cargo build --quiet -p aigw-tests --bin seed_logs
cargo test --workspace --quiet

echo "== SDK suites (official openai and anthropic Python SDKs) and the dashboard in Chromium"
# The dashboard suite drives Debian's chromium with Playwright (no browser download) and runs
# aigw on past days under Debian's libfaketime.
if ! dpkg -s chromium libfaketime >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libfaketime >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
# cloudflare 4.x beside 5.x (its own directory, no dependencies of its own) for the audit suite's
# check of the older SDK's cursor pagination.
if [ ! -f .venv/cloudflare4/cloudflare/__init__.py ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --target .venv/cloudflare4 cloudflare==4.3.1
fi
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python
