#!/usr/bin/env bash
# Installs what the tests need (ffmpeg is the reference oracle; Node.js runs solc and
# the local Hardhat node of the chain tests) and runs every test.
# Tests run in release mode: Groth16 proving in a debug build is ~30x slower.
source "$(dirname "$0")/common.sh"
ensure_packages
ensure_rust
ensure_node_deps
# A third-party C2PA reader (Python bindings) for the Content Credentials tests.
ensure_c2pa_reader
# PostgreSQL server binaries: the service tests start a private cluster.
ensure_postgres
# The Stylus contracts: crates/mpegs-stylus/tests/wasm_host.rs runs the built .wasm.
./scripts/build-stylus.sh
# The browser verifier (web/pkg) and the explorer (web/dist), which the mpegs
# binary embeds: both before cargo builds it.
./scripts/build-wasm.sh
./scripts/build-web.sh
# Debian's chromium: crates/mpegs-cli/tests/browser.rs drives it headless.
ensure_chromium
cargo test --release --workspace "$@"
