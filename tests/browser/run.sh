#!/usr/bin/env bash
# The socket.io client test (npm socket.io-client), then the browser tests:
# Debian's Chromium driven by playwright-core, against the
# debug `switchboard` binary (built by `cargo test`), inside a loopback-only
# network namespace so that every packet stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"

# Chromium, the CJK fonts that make the Chinese pages render, and coturn
# (the TURN server of turn.mjs).
if ! command -v chromium >/dev/null || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1 || ! command -v turnserver >/dev/null || ! command -v openssl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk coturn openssl >/dev/null
fi
npm ci --no-audit --no-fund --silent
# Standard WHIP/WHEP clients (Eyevinn's, from npm) bundled for the browser.
node_modules/.bin/esbuild vendor.mjs --bundle --format=esm --outfile=build/vendor.js --log-level=warning
cargo build --locked --bin switchboard --quiet --manifest-path ../../Cargo.toml

echo "node: socketio.mjs"
# Each run is bounded: a lost answer fails it rather than hanging CI.
timeout 300 node socketio.mjs
echo "node: cluster.mjs"
timeout 300 node cluster.mjs

# A namespace of its own per test: lo, and a veth pair (10.211.0.1 and
# .2, the default route on the first) so that the media plane, bound to
# every interface as by default, has a non-loopback address to offer too.
NETNS='ip link set lo up
ip link add sb0 type veth peer name sb1
ip addr add 10.211.0.1/24 dev sb0
ip addr add 10.211.0.2/24 dev sb1
ip link set sb0 up
ip link set sb1 up
ip route add default dev sb0'
for test in readme.mjs nat.mjs netchange.mjs indicators.mjs turn.mjs call.mjs cluster-call.mjs tcp.mjs standard.mjs ui.mjs workplace.mjs bot.mjs; do
  echo "browser: $test"
  timeout 600 unshare -n bash -c "$NETNS
node $test"
done
