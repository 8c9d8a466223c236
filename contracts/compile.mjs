#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// Solidity compiler front end for mpegs, built on the `solc` npm package (solcjs), so no native solc is needed.
//
//   node contracts/compile.mjs            compile src/MediaRegistry.sol and src/StorageEscrow.sol and (re)write
//                                         artifacts/MediaRegistry.json and artifacts/StorageEscrow.json
//   node contracts/compile.mjs --check    compile the same and fail if the committed artifacts differ
//   node contracts/compile.mjs --stdin    standard-JSON input on stdin → standard-JSON output on stdout; exit 1 on
//                                         any error diagnostic (used by the Rust side for generated verifiers)
//
// `solc` is resolved next to this script (contracts/node_modules, or NODE_PATH), falling back to
// $MPEGS_SOLC_DIR, a node_modules directory that contains solc.
//
// Imports of `@openzeppelin/contracts/...` (OpenZeppelin Contracts from npm, the version pinned in package.json) are
// read from the same places: the package next to this script, else $MPEGS_SOLC_DIR/@openzeppelin/contracts. Build
// mode refuses any other installed version, so the committed artifacts stay reproducible.
//
// All compiles use the same settings (optimizer on, 200 runs, cancun, legacy codegen, no metadata hash) so the
// bytecode is reproducible; in --stdin mode they are defaults that the caller's input may override.

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SOLC_VERSION = "0.8.28";
const OPENZEPPELIN = "@openzeppelin/contracts";
const OPENZEPPELIN_VERSION = "5.7.0";
const CONTRACTS_DIR = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = ["MediaRegistry", "StorageEscrow"];

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: false,
  metadata: { bytecodeHash: "none" },
  outputSelection: {
    "*": {
      "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"],
    },
  },
};

function fail(message) {
  process.stderr.write(`compile.mjs: ${message}\n`);
  process.exit(1);
}

function loadSolc() {
  try {
    return createRequire(import.meta.url)("solc");
  } catch (first) {
    const dir = process.env.MPEGS_SOLC_DIR;
    if (dir) {
      try {
        return createRequire(path.join(path.resolve(dir), "noop.js"))("solc");
      } catch (second) {
        fail(`cannot load solc from MPEGS_SOLC_DIR=${dir}: ${second.message}`);
      }
    }
    fail(
      "cannot find the solc npm package: run `npm ci --prefix contracts`, " +
        "or set MPEGS_SOLC_DIR to a node_modules directory that contains solc " +
        `(${first.message.split("\n")[0]})`,
    );
  }
}

/** The folder of the installed OpenZeppelin Contracts package and its version, or null if it is not installed. */
function openZeppelinDir() {
  const candidates = [];
  try {
    candidates.push(path.dirname(createRequire(import.meta.url).resolve(`${OPENZEPPELIN}/package.json`)));
  } catch {
    // not next to this script: try MPEGS_SOLC_DIR below
  }
  if (process.env.MPEGS_SOLC_DIR) {
    candidates.push(path.join(path.resolve(process.env.MPEGS_SOLC_DIR), OPENZEPPELIN));
  }
  for (const dir of candidates) {
    try {
      const version = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
      return { dir, version };
    } catch {
      // try the next one
    }
  }
  return null;
}

/** Import callback for `@openzeppelin/contracts/...`: the file inside the installed package, never outside it. */
function findOpenZeppelin(unitName, oz) {
  if (!oz) {
    return { error: `${OPENZEPPELIN} is not installed: run \`npm ci --prefix contracts\` (imported as ${unitName})` };
  }
  const file = path.resolve(oz.dir, unitName.slice(OPENZEPPELIN.length + 1));
  if (!file.startsWith(oz.dir + path.sep) || !file.endsWith(".sol")) {
    return { error: `import outside ${OPENZEPPELIN}: ${unitName}` };
  }
  try {
    return { contents: fs.readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read ${unitName}: ${e.message}` };
  }
}

/** Compile standard-JSON `input` (an object); returns the parsed output and its error-severity diagnostics. */
function compile(solc, input, findImports) {
  const raw = findImports
    ? solc.compile(JSON.stringify(input), { import: findImports })
    : solc.compile(JSON.stringify(input));
  const output = JSON.parse(raw);
  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === "error");
  const warnings = diagnostics.filter((d) => d.severity !== "error");
  return { raw, output, errors, warnings };
}

function describe(diagnostics) {
  return diagnostics.map((d) => (d.formattedMessage ?? d.message).trimEnd()).join("\n");
}

// ---------------------------------------------------------------- --stdin

function readStdin() {
  try {
    return fs.readFileSync(0, "utf8");
  } catch (e) {
    fail(`cannot read stdin: ${e.message}`);
  }
}

function runStdin() {
  const solc = loadSolc();
  let input;
  try {
    input = JSON.parse(readStdin());
  } catch (e) {
    fail(`stdin is not valid JSON: ${e.message}`);
  }
  // Fill in the project settings where the caller left them out; explicit caller settings win.
  input.settings = { ...SETTINGS, ...(input.settings ?? {}) };
  // Generated verifiers import nothing; the callback only serves OpenZeppelin files, should a caller import them.
  const oz = openZeppelinDir();
  const { raw, errors } = compile(solc, input, (unitName) =>
    unitName.startsWith(`${OPENZEPPELIN}/`) ? findOpenZeppelin(unitName, oz) : { error: `cannot import ${unitName}` },
  );
  // Let stdout drain before exiting: process.exit() could truncate a large piped output.
  process.stdout.write(raw.endsWith("\n") ? raw : `${raw}\n`);
  if (errors.length > 0) {
    process.stderr.write(`compile.mjs: compilation failed:\n${describe(errors)}\n`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------- build / --check

/** Import callback: `@openzeppelin/contracts/...` from the npm package, every other source unit name a path relative to
 *  contracts/ (e.g. "src/Groth16Call.sol"). */
function findImports(unitName) {
  if (unitName.startsWith(`${OPENZEPPELIN}/`)) {
    return findOpenZeppelin(unitName, openZeppelinDir());
  }
  const file = path.resolve(CONTRACTS_DIR, unitName);
  if (!file.startsWith(CONTRACTS_DIR + path.sep)) {
    return { error: `import outside contracts/: ${unitName}` };
  }
  try {
    return { contents: fs.readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read ${unitName}: ${e.message}` };
  }
}

function buildArtifacts() {
  const solc = loadSolc();
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    fail(`solc ${SOLC_VERSION} is required for reproducible artifacts, found ${version}`);
  }
  const oz = openZeppelinDir();
  if (!oz) {
    fail(`${OPENZEPPELIN} ${OPENZEPPELIN_VERSION} is not installed: run \`npm ci --prefix contracts\``);
  }
  if (oz.version !== OPENZEPPELIN_VERSION) {
    fail(`${OPENZEPPELIN} ${OPENZEPPELIN_VERSION} is required for reproducible artifacts, found ${oz.version}`);
  }
  const sources = {};
  for (const name of ARTIFACTS) {
    const unit = `src/${name}.sol`;
    const found = findImports(unit);
    if (found.error) fail(found.error);
    sources[unit] = { content: found.contents };
  }
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const { output, errors, warnings } = compile(solc, input, findImports);
  if (warnings.length > 0) process.stderr.write(`${describe(warnings)}\n`);
  if (errors.length > 0) fail(`compilation failed:\n${describe(errors)}`);

  const artifacts = new Map();
  for (const name of ARTIFACTS) {
    const contract = output.contracts?.[`src/${name}.sol`]?.[name];
    if (!contract) fail(`no output for contract ${name}`);
    const artifact = {
      contract: name,
      solc: SOLC_VERSION,
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      // Where constructor-set immutables sit in deployedBytecode (zeros there): the tooling compares deployed code
      // with deployedBytecode everywhere else, and checks the immutables' values through the contract's getters.
      immutableReferences: contract.evm.deployedBytecode.immutableReferences ?? {},
    };
    artifacts.set(name, `${JSON.stringify(artifact, null, 2)}\n`);
  }
  return artifacts;
}

function artifactPath(name) {
  return path.join(CONTRACTS_DIR, "artifacts", `${name}.json`);
}

function writeArtifacts(artifacts) {
  fs.mkdirSync(path.join(CONTRACTS_DIR, "artifacts"), { recursive: true });
  for (const [name, text] of artifacts) {
    const target = artifactPath(name);
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, target);
    process.stderr.write(`wrote contracts/artifacts/${name}.json\n`);
  }
}

function checkArtifacts(artifacts) {
  let stale = 0;
  for (const [name, text] of artifacts) {
    let committed = null;
    try {
      committed = fs.readFileSync(artifactPath(name), "utf8");
    } catch {
      // missing: reported as stale below
    }
    if (committed !== text) {
      process.stderr.write(`contracts/artifacts/${name}.json is stale: run node contracts/compile.mjs\n`);
      stale++;
    }
  }
  if (stale > 0) process.exit(1);
  process.stderr.write("contracts/artifacts are up to date\n");
}

// ---------------------------------------------------------------- main

const args = process.argv.slice(2);
if (args.length > 1 || (args.length === 1 && !["--stdin", "--check"].includes(args[0]))) {
  fail("usage: node contracts/compile.mjs [--stdin | --check]");
}
if (args[0] === "--stdin") {
  runStdin();
} else if (args[0] === "--check") {
  checkArtifacts(buildArtifacts());
} else {
  writeArtifacts(buildArtifacts());
}
