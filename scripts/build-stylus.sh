#!/usr/bin/env bash
# Builds the Stylus Groth16 verifier (crates/mpegs-stylus) to wasm32-unknown-unknown,
# one contract per embedded test key (plus the pure-WASM pairing variant of the
# storage ones), and checks each against the Stylus size limits (24 KB
# brotli-compressed, 128 KiB uncompressed).
# Results: target/stylus/mpegs_stylus_<circuit>[_pairing-wasm].wasm.
# Exits non-zero if a precompile contract is over a limit. Quick when up to date.
source "$(dirname "$0")/common.sh"

OUT=target/stylus
export CARGO_TARGET_DIR="$PWD/$OUT"
# circuit id → cargo feature of its embedded key (crates/mpegs-stylus/src/vk/) →
# whether to build the pure-WASM pairing variant too: the fixed-seed test keys,
# which tests/wasm_host.rs checks (testkit-table-8 has two challenges); never
# deploy these.
# Reference types off (a precaution: older Wasm validators, Stylus's included, may
# not take them, and they buy nothing here); a 32 KiB stack instead of rustc's
# 1 MiB (Stylus prices memory per page).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-reference-types -C link-arg=-zstack-size=32768"
CIRCUITS=(
  "storage-inclusion-k2-d3-v3:test-vk-storage-k2-d3:pairing-wasm"
  "storage-inclusion-k4-d9-v3:test-vk-storage-k4-d9:pairing-wasm"
  "testkit-table-8:test-vk-table:"
)
COMPRESSED_LIMIT=24576      # 24 KB, what Stylus accepts compressed
UNCOMPRESSED_LIMIT=131072   # 128 KiB

ensure_packages
ensure_rust

ensure_tools() {
  local missing=()
  command -v brotli >/dev/null 2>&1 || missing+=(brotli)
  command -v wasm-opt >/dev/null 2>&1 || missing+=(binaryen)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || true
  fi
  command -v brotli >/dev/null 2>&1 || { echo "error: the brotli CLI is needed to measure compressed size" >&2; exit 1; }
  command -v wasm-opt >/dev/null 2>&1 || echo "note: wasm-opt (binaryen) unavailable: sizes are rustc's output, not wasm-opt -Oz"
}

# Whether $1 is older than any input of the build.
stale() {
  [ ! -f "$1" ] && return 0
  [ -n "$(find crates/mpegs-stylus/src crates/mpegs-stylus/Cargo.toml Cargo.toml Cargo.lock scripts/build-stylus.sh -newer "$1" -print -quit)" ]
}

build() { # name features
  local name=$1 features=$2 out="$OUT/mpegs_stylus_$1.wasm"
  if ! stale "$out"; then return; fi
  echo "==> building $name (features: $features)"
  "${WASM_CARGO[@]}" build --quiet -p mpegs-stylus --lib --target wasm32-unknown-unknown \
    --profile stylus --no-default-features --features "$features"
  local raw="$OUT/wasm32-unknown-unknown/stylus/mpegs_stylus.wasm"
  if command -v wasm-opt >/dev/null 2>&1; then
    wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-sign-ext \
      --enable-mutable-globals "$raw" -o "$out.tmp"
  else
    cp "$raw" "$out.tmp"
  fi
  mv "$out.tmp" "$out"
}

# wasm32: rustup's target if it can be had, else Debian's rustc-web route
# (common.sh; see docs/stylus.md). The contract is no_std.
ensure_wasm_target core,alloc,panic_abort
ensure_tools
mkdir -p "$OUT"
over=0
printf '%-48s %12s %12s  %s\n' "contract" "uncompressed" "brotli" "Stylus limits: 128 KiB / 24 KB"
for entry in "${CIRCUITS[@]}"; do
  IFS=: read -r id feature wasm_pairing <<<"$entry"
  variants=("")
  [ -n "$wasm_pairing" ] && variants+=("_pairing-wasm")
  for variant in "${variants[@]}"; do
    features=$feature
    [ -n "$variant" ] && features="$feature,pairing-wasm"
    build "$id$variant" "$features"
    file="$OUT/mpegs_stylus_$id$variant.wasm"
    size=$(stat -c %s "$file")
    compressed=$(brotli -c -q 11 -w 22 "$file" | wc -c)
    verdict=ok
    if [ "$size" -gt $UNCOMPRESSED_LIMIT ] || [ "$compressed" -gt $COMPRESSED_LIMIT ]; then verdict="OVER THE LIMIT"; fi
    printf '%-48s %12s %12s  %s\n' "$(basename "$file")" "$size" "$compressed" "$verdict"
    # The pure-WASM pairing variant is measured, not shipped: only the precompile
    # contracts must fit.
    if [ -z "$variant" ] && [ "$verdict" != ok ]; then over=1; fi
  done
done
if [ $over -ne 0 ]; then
  echo "error: a Stylus contract is over the size limit" >&2
  exit 1
fi
