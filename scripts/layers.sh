#!/usr/bin/env bash
# The crates' allowed dependency directions (docs/architecture.md), checked
# on the resolved graph (normal and build dependencies, transitively): prints
# every forbidden edge it finds and fails if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
# forbid CRATE NAME...: CRATE must not reach any NAME.
forbid() {
    local crate=$1
    shift
    local reached
    reached=$(cargo tree --locked -p "$crate" -e normal,build --prefix none --format '{p}' |
        awk '{print $1}' | sort -u)
    for name in "$@"; do
        if grep -qx -- "$name" <<<"$reached"; then
            echo "layers: $crate depends on $name" >&2
            failed=1
        fi
    done
}

web="axum axum-core hyper hyper-util socketioxide rustls tokio-rustls"
# The core: pure, no runtime, no storage, no adapter.
forbid switchboard-core $web tokio rusqlite switchboard-store switchboard-app \
    switchboard-outbound switchboard-http switchboard-media
# The application layer: no transport, no sockets, no outbound calls.
forbid switchboard-app $web switchboard-outbound switchboard-http switchboard-media
# Outbound integrations: a client, never the server's transport.
forbid switchboard-outbound axum axum-core socketioxide switchboard-http switchboard-media
# The media plane follows control through a listener; it knows no control layer.
forbid switchboard-media $web switchboard-app switchboard-http switchboard-store

# The cluster's etcd side knows no engine: entries are bytes.
forbid switchboard-cluster axum axum-core socketioxide switchboard-core switchboard-store switchboard-app \
    switchboard-http switchboard-media

if [ "$failed" = 0 ]; then
    echo "layers: every crate depends only in the allowed directions"
fi
exit "$failed"
