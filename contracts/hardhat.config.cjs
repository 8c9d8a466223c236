// SPDX-License-Identifier: Apache-2.0
//
// Minimal Hardhat configuration. Hardhat is used only as a local development
// chain (`npx hardhat node`); contracts are compiled by compile.mjs with solcjs
// so the committed artifacts do not depend on Hardhat's compiler download.
//
// The in-process network keeps Hardhat's default unlocked accounts and
// chainId 31337, and runs the Cancun hardfork so it matches the evmVersion the
// contracts are compiled for.

/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  solidity: {
    version: "0.8.28",
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "./src",
    // Keep Hardhat's own build output away from the committed artifacts/.
    artifacts: "./.hardhat/artifacts",
    cache: "./.hardhat/cache",
  },
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
    },
  },
};
