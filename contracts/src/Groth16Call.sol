// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Groth16Call
/// @notice Calls a generated Groth16 verifier whose public-input count is only known at run time.
/// @dev The verifiers are generated per circuit (mpegs' Groth16 verifier with a committed-wire commitment, contract
///      `Verifier`, or the Stylus verifier with the same ABI) and expose `verifyProof(uint256[12] calldata proof,
///      uint256[N] calldata input) public view`, which reverts on an invalid proof and returns nothing on success. The
///      proof is A, B, C, the commitment D and its proof of knowledge P; the lookup challenges are derived inside the
///      verifier from the key, the inputs and D, so N counts only the statement's inputs. Because N is part of the
///      signature, each circuit has a different selector, so the registry and the escrow cannot use a fixed Solidity
///      interface. This library builds the selector from N and the static-array calldata by hand instead.
///
///      "Did not revert" alone is not success: a contract whose function returns `false`, or whose fallback accepts
///      any call, would then accept every proof. So success is the exact shape the verifiers produce (no revert and
///      empty return data), and `answersProbe` lets a caller check, before trusting an address, that it really is a
///      verifier of the right arity: it must refuse a well-formed but wrong proof with exactly `ProofInvalid()`.
library Groth16Call {
    /// @dev `ProofInvalid()`, the verifiers' revert for a proof that fails the pairing check.
    bytes4 internal constant PROOF_INVALID = 0x7fcdd1f4;

    /// @notice True iff `verifier` has code, `verifyProof(proof, input)` does not revert and returns no data.
    /// @dev Any revert (invalid proof, input not in the field, out of gas, wrong arity) counts as "does not verify";
    ///      callers turn `false` into a user-facing reason. An address without code must be rejected explicitly,
    ///      because a call to it would succeed and look like a valid proof.
    /// @param verifier the deployed verifier contract
    /// @param proof the twelve proof words (A.x, A.y, B.x1, B.x0, B.y1, B.y0, C.x, C.y, D.x, D.y, P.x, P.y) in the
    ///        verifier's order
    /// @param input the public inputs, in circuit order; its length selects the verifier's signature
    function verify(address verifier, uint256[12] memory proof, uint256[] memory input) internal view returns (bool) {
        if (verifier.code.length == 0) {
            return false;
        }
        // Static arrays are ABI-encoded inline, so the calldata is simply selector ‖ proof words ‖ input words,
        // which is exactly what abi.encodePacked produces for 32-byte array elements.
        (bool ok, bytes memory out) = verifier.staticcall(abi.encodePacked(selector(input.length), proof, input));
        return ok && out.length == 0;
    }

    /// @notice True iff `verifier` behaves like a Groth16 verifier with `n` public inputs: called with a proof made of
    ///         the curve generators (well-formed, on the curve, but not a proof of anything) and `n` zero inputs, it
    ///         reverts with exactly `ProofInvalid()`. A verifier of another arity has no such function (empty revert),
    ///         and a contract that returns `false` or accepts everything fails the probe.
    function answersProbe(address verifier, uint256 n) internal view returns (bool) {
        if (verifier.code.length == 0) {
            return false;
        }
        uint256[12] memory probe = [
            uint256(1),
            2,
            // G2 generator, (x1, x0, y1, y0) in the verifiers' order
            11559732032986387107991004021392285783925812861821192530917403151452391805634,
            10857046999023057135944570762232829481370756359578518086990519993285655852781,
            4082367875863433681332203403145435568316851327593401208105741076214120093531,
            8495653923123431417604973247489272438418190587263600148770280649306958101930,
            1,
            2,
            // D and P: the G1 generator too
            1,
            2,
            1,
            2
        ];
        (bool ok, bytes memory out) = verifier.staticcall(abi.encodePacked(selector(n), probe, new uint256[](n)));
        return !ok && out.length == 4 && bytes4(out) == PROOF_INVALID;
    }

    /// @notice True iff `verifier` names `key` as its verifying key's digest: `vkHash()` answers exactly one word equal
    ///         to it. Every verifier mpegs generates has that function (the sha256 of the key it embeds, the hash the
    ///         registry pins), so a genuine verifier of another key with the same arity is told apart from the right
    ///         one. A contract could lie about it; the registry owner is trusted with pins anyway (docs/chain.md), and
    ///         this refuses the honest mistake.
    function namesKey(address verifier, bytes32 key) internal view returns (bool) {
        if (verifier.code.length == 0) {
            return false;
        }
        (bool ok, bytes memory out) = verifier.staticcall(abi.encodeWithSignature("vkHash()"));
        return ok && out.length == 32 && bytes32(out) == key;
    }

    /// @notice Selector of `verifyProof(uint256[12],uint256[n])`.
    function selector(uint256 n) internal pure returns (bytes4) {
        return bytes4(keccak256(abi.encodePacked("verifyProof(uint256[12],uint256[", toDecimal(n), "])")));
    }
}

/// @notice Decimal representation of `value` (no sign, no leading zeros).
/// @dev Needed for the verifier selector above and for the 1-based step/tile numbers in the registry's revert
///      messages; kept here so both contracts share one copy without an external dependency.
function toDecimal(uint256 value) pure returns (string memory) {
    if (value == 0) {
        return "0";
    }
    uint256 digits;
    for (uint256 v = value; v != 0; v /= 10) {
        digits++;
    }
    bytes memory out = new bytes(digits);
    for (; value != 0; value /= 10) {
        digits--;
        out[digits] = bytes1(uint8(48 + (value % 10)));
    }
    return string(out);
}
