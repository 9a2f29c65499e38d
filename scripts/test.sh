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
cargo test --workspace --quiet

echo "== SDK suites (official openai and anthropic Python SDKs)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python
