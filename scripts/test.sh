#!/usr/bin/env bash
# The one command that runs every test: set-up, formatting, lints, then the whole test suite
# (unit, integration, differential tests against Alertmanager 0.25 and amtool).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The integration tests start the klaxon binary; build it first so their timing is not the
# build's.
cargo build --workspace --locked --bins
cargo nextest run --workspace --locked --no-fail-fast
