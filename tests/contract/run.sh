#!/usr/bin/env bash
# The contract test: schemathesis 4 (from PyPI, installed here) over every
# operation of the OpenAPI document the real binary serves, all phases, with
# the admin token. It fails on any finding that schemathesis.toml does not
# list as by design, with its reason.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

cargo build --locked --bin switchboard
dir=$(mktemp -d)
token=contract-admin-token-0123456789
SWITCHBOARD_LISTEN=127.0.0.1:0 SWITCHBOARD_MEDIA_BIND=127.0.0.1:0 \
  SWITCHBOARD_DB="$dir/contract.db" SWITCHBOARD_ADMIN_TOKEN="$token" RUST_LOG=warn \
  target/debug/switchboard serve >"$dir/out" 2>"$dir/log" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
address=
for _ in $(seq 100); do
  address=$(grep -o 'http://[0-9.:]*' "$dir/out" | head -1 || true)
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { cat "$dir/log"; echo "contract: the server did not start" >&2; exit 1; }

# A fixed seed: the same cases every run, so that a finding is a change.
"$venv/bin/schemathesis" --config-file tests/contract/schemathesis.toml --no-color run \
  "$address/customer-service/openapi.json" \
  -H "Authorization: Bearer $token" --max-examples 50 --seed 20261207
