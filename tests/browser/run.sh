#!/usr/bin/env bash
# The socket.io client test (npm socket.io-client), then the browser tests:
# Debian's Chromium driven by playwright-core, against the
# debug `switchboard` binary (built by `cargo test`), inside a loopback-only
# network namespace so that every packet stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"

# Chromium, and the CJK fonts that make the Chinese pages render.
if ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
npm ci --no-audit --no-fund --silent
# Standard WHIP/WHEP clients (Eyevinn's, from npm) bundled for the browser.
node_modules/.bin/esbuild vendor.mjs --bundle --format=esm --outfile=build/vendor.js --log-level=warning
cargo build --locked --bin switchboard --quiet --manifest-path ../../Cargo.toml

echo "node: socketio.mjs"
# Each run is bounded: a lost answer fails it rather than hanging CI.
timeout 300 node socketio.mjs

for test in call.mjs tcp.mjs standard.mjs ui.mjs bot.mjs; do
  echo "browser: $test"
  timeout 600 unshare -n bash -c "ip link set lo up && node $test"
done
