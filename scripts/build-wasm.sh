#!/usr/bin/env bash
# Builds the browser verifier (crates/mpegs-wasm) for wasm32-unknown-unknown and
# packages it with wasm-bindgen (--target web) into web/pkg/: mpegs_wasm.js (the
# ES module to import), mpegs_wasm_bg.wasm and the TypeScript declarations.
# The wasm-bindgen CLI is installed once, pinned to the crate's wasm-bindgen
# version, under target/tools (or taken from PATH if it is that version). Quick
# when up to date. Prints the .wasm size.
source "$(dirname "$0")/common.sh"

PKG=web/pkg
# Its own target dir: the wasm build does not hold the host build's cargo lock.
export CARGO_TARGET_DIR="$PWD/target/wasm"
TOOLS="$PWD/target/tools"
RAW="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/mpegs_wasm.wasm"

ensure_rust
# The crate uses std, so Debian's route builds std itself.
ensure_wasm_target std,panic_abort

# The wasm-bindgen version in Cargo.lock: the CLI must be exactly the same.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$BINDGEN_VERSION" ] || { echo "error: no wasm-bindgen in Cargo.lock" >&2; exit 1; }

ensure_bindgen() {
  local v
  for BINDGEN in "$TOOLS/bin/wasm-bindgen" "$(command -v wasm-bindgen || true)"; do
    [ -n "$BINDGEN" ] && [ -x "$BINDGEN" ] || continue
    v=$("$BINDGEN" --version 2>/dev/null | awk '{print $2}')
    [ "$v" = "$BINDGEN_VERSION" ] && return
  done
  echo "==> installing wasm-bindgen-cli $BINDGEN_VERSION into target/tools (once; a few minutes)"
  local build="$TOOLS/build"
  # --locked first (the CLI's own lockfile); if the registry lacks one of its
  # pinned versions, let cargo resolve the newest compatible ones.
  if ! CARGO_TARGET_DIR="$build" cargo install --quiet wasm-bindgen-cli --version "$BINDGEN_VERSION" \
      --locked --root "$TOOLS"; then
    echo "==> retrying without --locked"
    CARGO_TARGET_DIR="$build" cargo install --quiet wasm-bindgen-cli --version "$BINDGEN_VERSION" --root "$TOOLS"
  fi
  rm -rf "$build"
  BINDGEN="$TOOLS/bin/wasm-bindgen"
}

# Whether the package is older than any input of the build.
stale() {
  [ ! -f "$PKG/mpegs_wasm_bg.wasm" ] && return 0
  [ -n "$(find crates/mpegs-wasm crates/mpegs-provenance/src crates/mpegs-zk/src crates/mpegs-media/src \
      crates/mpegs-filters/src crates/mpegs-*/Cargo.toml Cargo.toml Cargo.lock scripts/build-wasm.sh \
      -newer "$PKG/mpegs_wasm_bg.wasm" -print -quit)" ]
}

ensure_bindgen
# One build at a time (the explorer's build and the tests may start this too).
mkdir -p "$CARGO_TARGET_DIR"
exec 9>"$CARGO_TARGET_DIR/build-wasm.lock"
flock 9
if stale; then
  echo "==> building mpegs-wasm (wasm32-unknown-unknown)"
  "${WASM_CARGO[@]}" build --quiet -p mpegs-wasm --lib --target wasm32-unknown-unknown --profile wasm
  tmp=$(mktemp -d "$PKG.XXXXXX.tmp")
  "$BINDGEN" --target web --out-dir "$tmp" "$RAW"
  # No wasm-opt: Debian's binaryen (108) takes minutes and breaks wasm-bindgen's
  # externref table; rustc's -O3 with LTO is the package.
  rm -rf "$PKG"
  mv "$tmp" "$PKG"
fi
size=$(stat -c %s "$PKG/mpegs_wasm_bg.wasm")
gz=$(gzip -9 -c "$PKG/mpegs_wasm_bg.wasm" | wc -c)
echo "web/pkg: mpegs_wasm_bg.wasm $size bytes ($gz gzipped), wasm-bindgen $BINDGEN_VERSION"
