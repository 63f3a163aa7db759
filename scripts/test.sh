#!/usr/bin/env bash
# The README's test command: every test of the workspace, on a fresh machine.
# Needs the Rust toolchain; the browser tests install Debian's Chromium and
# their npm packages themselves (tests/browser/run.sh), and run as root (a
# network namespace of their own).
set -euo pipefail
cd "$(dirname "$0")/.."

# The cluster tests run real etcd members (Debian's etcd-server 3.4).
if ! command -v etcd >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
fi
# The crates depend only in the allowed directions.
bash scripts/layers.sh
# Unit, property, end-to-end and bench-smoke tests (benches run once each).
cargo test --workspace --all-targets --locked
# The run-loop example in the core's crate docs.
cargo test --workspace --doc --locked
# The API contract: schemathesis (from PyPI) over the served OpenAPI document.
bash tests/contract/run.sh
# Real browsers (Debian's Chromium, installed here if missing) over the real
# binary and its media plane, in a loopback-only network namespace.
bash tests/browser/run.sh
