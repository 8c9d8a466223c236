#!/usr/bin/env bash
# Builds the explorer (web/: vite + TypeScript, docs/explorer.md) into web/dist,
# which crates/mpegs-service embeds into the mpegs binary at compile time — so
# run this before `cargo build`. Needs web/pkg (./scripts/build-wasm.sh).
# npm packages come from web/package-lock.json (npm ci). Quick when up to date.
source "$(dirname "$0")/common.sh"
ensure_web_deps

[ -f web/pkg/mpegs_wasm.js ] && [ -f web/pkg/mpegs_wasm_bg.wasm ] || {
  echo "error: web/pkg is missing: run ./scripts/build-wasm.sh first" >&2
  exit 1
}

# Whether web/dist is older than any input of the build.
stale() {
  [ ! -f web/dist/index.html ] && return 0
  [ -n "$(find web/src web/pkg web/*.html web/package.json web/package-lock.json \
      web/vite.config.ts web/tsconfig.json scripts/build-web.sh \
      -newer web/dist/index.html -print -quit)" ]
}

if stale; then
  echo "==> building the explorer (web/dist)"
  (cd web && npx --no-install tsc --noEmit && npx --no-install vite build --logLevel warn)
fi
files=$(find web/dist -type f | wc -l)
size=$(du -sk web/dist | cut -f1)
echo "web/dist: $files files, ${size} KiB (embedded by the next cargo build of mpegs)"
