#!/usr/bin/env bash
# Installs what the tests need (ffmpeg is the reference oracle) and runs every test.
# Tests run in release mode: Groth16 proving in a debug build is ~30x slower.
source "$(dirname "$0")/common.sh"
ensure_packages
ensure_rust
cargo test --release --workspace "$@"
