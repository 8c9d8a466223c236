# Shared by scripts/demo.sh and scripts/test.sh: install what mpegs needs on Debian.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# PostgreSQL's server binaries for the scale-out tests (crates/mpegs-cli/tests/
# service.rs starts a private cluster with initdb + pg_ctl in a temp dir; nothing
# is started here). Exports MPEGS_PG_BIN, the folder holding initdb and pg_ctl.
ensure_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "==> installing postgresql (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  export MPEGS_PG_BIN="$bin"
}

# The explorer's build and browser tests (docs/explorer.md): Node.js and npm,
# web/'s pinned npm packages (vite, TypeScript, playwright-core) from
# web/package-lock.json.
ensure_web_deps() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing nodejs and npm (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -x web/node_modules/.bin/vite ] || [ ! -f web/node_modules/playwright-core/package.json ] \
     || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "==> installing the explorer's npm packages (vite, typescript, playwright-core)"
    npm ci --prefix web --no-audit --no-fund --loglevel=error
  fi
}

# Debian's chromium for the browser tests (crates/mpegs-cli/tests/browser.rs drives
# it headless with playwright-core; playwright's own browser download is not used).
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing chromium (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  export MPEGS_CHROMIUM=/usr/bin/chromium
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "==> installing Rust (rustup)"
      command -v curl >/dev/null 2>&1 || { as_root apt-get update -qq; as_root apt-get install -y -qq curl ca-certificates >/dev/null; }
      curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

# Node.js runs the pinned npm solc (compiling generated verifiers) and the local
# Hardhat node of the integration tests; both come from contracts/package-lock.json.
ensure_node_deps() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing nodejs and npm (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -f contracts/node_modules/solc/package.json ] || [ ! -x contracts/node_modules/.bin/hardhat ] \
     || [ contracts/package-lock.json -nt contracts/node_modules/.package-lock.json ]; then
    echo "==> installing the contracts' npm packages (solc, hardhat)"
    npm ci --prefix contracts --no-audit --no-fund --loglevel=error
  fi
}

# A third-party Content Credentials reader for the C2PA interoperability tests: the
# official Python bindings (c2pa-python, a prebuilt wheel) in scripts/.venv-c2pa.
C2PA_PYTHON_VERSION=0.38.1
ensure_c2pa_reader() {
  local venv=scripts/.venv-c2pa
  if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
      echo "==> installing python3-venv (apt-get)"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import c2pa, sys; sys.exit(c2pa.__version__ != '$C2PA_PYTHON_VERSION')" >/dev/null 2>&1; then
    echo "==> installing the C2PA reader (pip c2pa-python==$C2PA_PYTHON_VERSION)"
    "$venv/bin/pip" install -q --disable-pip-version-check "c2pa-python==$C2PA_PYTHON_VERSION"
  fi
  export MPEGS_C2PA_READER="$PWD/$venv/bin/python $PWD/scripts/c2pa-read.py"
}

# wasm32-unknown-unknown for cargo: rustup's target if it can be had, else Debian's
# rustc-web route (docs/stylus.md): /usr/bin/cargo with -Zbuild-std=$1 (the
# standard library crates to build: "core,alloc,panic_abort" for a no_std crate,
# "std,panic_abort" for one that uses std). Sets WASM_CARGO, the cargo command
# line to build with (an array).
ensure_wasm_target() {
  local build_std=$1
  WASM_CARGO=(cargo)
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then return; fi
  echo "==> adding the wasm32-unknown-unknown target (rustup)"
  if rustup target add wasm32-unknown-unknown; then return; fi
  echo "==> rustup could not add wasm32; using Debian's rustc-web + -Zbuild-std"
  if [ ! -x /usr/bin/rustc ] || ! dpkg -s rust-web-src lld-19 >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-src lld-19 >/dev/null
  fi
  export PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-19/bin/wasm-ld
  WASM_CARGO=(/usr/bin/cargo "-Zbuild-std=$build_std")
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
