// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Groth16Call, toDecimal} from "./Groth16Call.sol";

/// @title MediaRegistry
/// @notice On-chain provenance for media commitments (BN254 field elements).
///
/// Three ways to get a commitment on the registry:
/// - `registerOriginal`: a capture device signs (EIP-712) the commitment of what it recorded. The registry only checks
///   the signature; which devices to trust is up to the reader, who sees the recovered device address.
/// - `registerEdit`: a chain of edit steps, each proven with one Groth16 proof per tile, takes a registered original
///   (or edit) to a new commitment. Every proof is verified here, and the statement of every step (filter text and
///   per-tile verifying keys/extra inputs) must have been approved by the owner, so a proof cannot smuggle in an
///   unreviewed transformation.
/// - `anchor`: records that an off-chain bundle (hash) proves `commitment` from a registered parent. Nothing is
///   verified on-chain, so anchors live apart from the verified records, keyed by (commitment, anchorer): an anchor
///   claims no device, names who made it, and never blocks anyone else's anchor or a verified original or edit of
///   the same commitment.
///
/// Hardening against hostile callers: verifier pins are write-once and must answer like a verifier; ownership moves
/// in two steps; a record can be revoked by its registrant, by its device (directly, or by an EIP-712 signature bound
/// to this chain, this contract, a per-device nonce and a deadline), and revocation is part of the record.
contract MediaRegistry {
    /// @dev BN254 scalar field modulus: commitments are public inputs of the proofs, so they must be below it.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev secp256k1 group order / 2: signatures with a larger s are malleable copies and are rejected.
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @dev EIP-712 domain without chainId/verifyingContract: a device signs what it captured, independent of which
    ///      chain or registry deployment the capture is later registered on. Evaluates to
    ///      0xcb76e99de6d650573d5ace3a652e85cb97429ea08f78057d7659121a3ceb7328. A constant, not an immutable, so the
    ///      deployed code equals the artifact's deployedBytecode byte for byte.
    bytes32 internal constant DOMAIN_SEPARATOR =
        keccak256(abi.encode(keccak256("EIP712Domain(string name,string version)"), keccak256("mpegs"), keccak256("1")));

    bytes32 internal constant CAPTURE_TYPEHASH = keccak256(
        "MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,uint64 capturedAt,string deviceId)"
    );

    /// @dev Revocations are signed under a domain bound to this chain and this contract (unlike captures), with a
    ///      per-device nonce and a deadline, so a signature revokes one record on one registry, once.
    bytes32 internal constant REVOKE_TYPEHASH =
        keccak256("Revoke(bytes32 commitment,string reason,uint256 nonce,uint64 deadline)");

    enum Kind {
        None,
        Original,
        Edit
    }

    /// @notice A verified record: an original (device signature checked) or an edit (every proof checked).
    struct Record {
        Kind kind;
        bytes32 parent; // 0 for originals
        bytes32 statement; // Original: keccak256(bytes(deviceId)); Edit: keccak256(bytes(filtergraph))
        address registrant; // msg.sender
        address device; // Original: recovered signer; Edit: the device of the chain's original (copied from parent)
        uint64 registeredAt; // block.timestamp
        uint32 proofs; // Edit: number of tile proofs verified on-chain; else 0
        uint64 revokedAt; // 0 while valid
    }

    /// @notice An unverified claim by `anchorer` that the bundle `bundleHash` proves the commitment from `parent`.
    struct Anchor {
        bytes32 parent;
        bytes32 bundleHash; // sha256 of the bundle file
        uint64 anchoredAt; // 0: no such anchor
    }

    /// @notice One Groth16 proof for one tile of a step. Public inputs are [input commitment, output commitment, tail...].
    struct TileProof {
        bytes32 vkHash;
        uint256[] tail;
        uint256[12] proof;
    }

    /// @notice One edit step: a filter applied to the previous commitment, giving `output`.
    struct Step {
        string filter;
        bytes32 output;
        TileProof[] tiles;
    }

    address public owner;
    /// @notice The account `transferOwnership` named; it becomes the owner when it calls `acceptOwnership`.
    address public pendingOwner;
    /// @notice Verifying-key hash → deployed verifier. Write-once: a pin never changes what a recorded proof meant.
    mapping(bytes32 => address) public verifiers;
    /// @notice Step hash (see `stepHash`) → approved by the owner.
    mapping(bytes32 => bool) public approvedSteps;
    /// @notice Next revocation nonce of each device (for `revokeBySignature`).
    mapping(address => uint256) public revokeNonces;

    mapping(bytes32 => Record) private records;
    mapping(bytes32 => mapping(address => Anchor)) private anchors;

    event VerifierSet(bytes32 indexed vkHash, address verifier);
    event StepApproved(bytes32 indexed stepHash);
    event OriginalRegistered(
        bytes32 indexed commitment, address indexed device, address indexed registrant, string deviceId, uint64 capturedAt
    );
    event EditRegistered(
        bytes32 indexed commitment, bytes32 indexed parent, address indexed registrant, string filtergraph, uint32 proofs
    );
    event Anchored(bytes32 indexed commitment, bytes32 indexed parent, address indexed anchorer, bytes32 bundleHash);
    event Revoked(bytes32 indexed commitment, address indexed by, string reason);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner, "not the registry owner");
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    // ---------------------------------------------------------------- owner

    /// @notice Pin the verifier for a verifying key with `inputs` public inputs, once. It must have code and answer
    ///         like a verifier of that arity (`Groth16Call.answersProbe`), so a typo, a contract that returns `false`
    ///         or one with a permissive fallback is refused here instead of accepting or blocking proofs later.
    /// @dev Write-once: the key hash names one circuit, so a second pin could only change the meaning of proofs
    ///      already recorded under it.
    function setVerifier(bytes32 vkHash, address verifier, uint256 inputs) external onlyOwner {
        require(verifiers[vkHash] == address(0), "verifier already pinned for this key");
        require(verifier.code.length > 0, "verifier has no code");
        require(Groth16Call.answersProbe(verifier, inputs), "not a Groth16 verifier with that many inputs");
        verifiers[vkHash] = verifier;
        emit VerifierSet(vkHash, verifier);
    }

    /// @notice Approve a step statement (filter text plus the per-tile keys and extra public inputs).
    /// @dev The parameter is named `stepHash` because that name is part of the published ABI (the Rust bindings use
    ///      it as a field name); solc warns that it shadows the `stepHash()` function, which is harmless here.
    function approveStep(bytes32 stepHash) external onlyOwner {
        approvedSteps[stepHash] = true;
        emit StepApproved(stepHash);
    }

    /// @notice Start handing the owner role to `newOwner`, who must call `acceptOwnership`; a mistyped address thus
    ///         never locks verifier and step management. The zero address cancels a pending transfer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Complete a transfer started by `transferOwnership`.
    function acceptOwnership() external {
        require(msg.sender == pendingOwner && msg.sender != address(0), "not the pending owner");
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    // ---------------------------------------------------------------- views

    /// @notice The verified record of `commitment` (kind None if unknown).
    function record(bytes32 commitment) external view returns (Record memory) {
        return records[commitment];
    }

    /// @notice `anchorer`'s anchor of `commitment` (anchoredAt 0 if none).
    function anchorOf(bytes32 commitment, address anchorer) external view returns (Anchor memory) {
        return anchors[commitment][anchorer];
    }

    /// @notice EIP-712 digest a device signs to revoke `commitment` (see `revokeBySignature`).
    function revokeDigest(bytes32 commitment, string calldata reason, uint256 nonce, uint64 deadline)
        public
        view
        returns (bytes32)
    {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("mpegs"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, commitment, keccak256(bytes(reason)), nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @notice EIP-712 digest a capture device signs for an original.
    /// @dev Declared `view` (the published ABI) although the digest only depends on its arguments.
    function captureDigest(
        bytes32 commitment,
        uint8 format,
        uint32 width,
        uint32 height,
        uint64 capturedAt,
        string calldata deviceId
    ) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(CAPTURE_TYPEHASH, commitment, format, width, height, capturedAt, keccak256(bytes(deviceId)))
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    /// @notice Hash of a step's statement: the filter text, then per tile its verifying key and extra public inputs.
    /// @dev Proofs and the output commitment are excluded: the owner approves *what* is proven, once, not each use.
    function stepHash(Step calldata step) public pure returns (bytes32 h) {
        h = keccak256(bytes(step.filter));
        for (uint256 j = 0; j < step.tiles.length; j++) {
            TileProof calldata tile = step.tiles[j];
            h = keccak256(abi.encodePacked(h, tile.vkHash, keccak256(abi.encodePacked(tile.tail))));
        }
    }

    // ---------------------------------------------------------------- registration

    /// @notice Register an original capture signed by its device (EIP-712, see `captureDigest`).
    /// @param signature 65 bytes r ‖ s ‖ v with v ∈ {27, 28} and low s
    function registerOriginal(
        bytes32 commitment,
        uint8 format,
        uint32 width,
        uint32 height,
        uint64 capturedAt,
        string calldata deviceId,
        bytes calldata signature
    ) external {
        _requireNew(commitment);
        bytes32 digest = captureDigest(commitment, format, width, height, capturedAt, deviceId);
        address device = _recoverSigner(digest, signature);
        records[commitment] = Record({
            kind: Kind.Original,
            parent: bytes32(0),
            statement: keccak256(bytes(deviceId)),
            registrant: msg.sender,
            device: device,
            registeredAt: uint64(block.timestamp),
            proofs: 0,
            revokedAt: 0
        });
        emit OriginalRegistered(commitment, device, msg.sender, deviceId, capturedAt);
    }

    /// @notice Register the result of a chain of proven edit steps applied to `parent`.
    /// @dev Step i's input commitment is step i-1's output (the parent for the first step). The child is the last
    ///      step's output. Anchors of the same commitment do not block it: they live apart.
    /// @return commitment the registered child commitment
    function registerEdit(bytes32 parent, Step[] calldata steps) external returns (bytes32 commitment) {
        require(steps.length > 0, "an edit needs at least one step");
        Record storage p = records[parent];
        require(p.kind != Kind.None, "parent is not registered with verified provenance");
        require(p.revokedAt == 0, "parent is revoked");

        uint32 proofs = _verifySteps(parent, steps);
        commitment = steps[steps.length - 1].output;
        _requireNew(commitment);

        string memory filtergraph = _joinFilters(steps);
        records[commitment] = Record({
            kind: Kind.Edit,
            parent: parent,
            statement: keccak256(bytes(filtergraph)),
            registrant: msg.sender,
            device: p.device,
            registeredAt: uint64(block.timestamp),
            proofs: proofs,
            revokedAt: 0
        });
        emit EditRegistered(commitment, parent, msg.sender, filtergraph, proofs);
    }

    /// @notice Record, as the sender's own claim, that an off-chain proof bundle (`bundleHash`) links `commitment` to
    ///         `parent`: a verified record, or an anchor the sender made.
    /// @dev Nothing is verified here; readers must fetch and check the bundle. Keyed by (commitment, sender), an anchor
    ///      names no device and cannot block anyone else's anchor or any verified record of the same commitment.
    function anchor(bytes32 commitment, bytes32 parent, bytes32 bundleHash) external {
        require(uint256(commitment) < R, "commitment is not a field element");
        require(
            records[parent].kind != Kind.None || anchors[parent][msg.sender].anchoredAt != 0,
            "parent is not registered"
        );
        require(anchors[commitment][msg.sender].anchoredAt == 0, "already anchored by this account");
        anchors[commitment][msg.sender] =
            Anchor({parent: parent, bundleHash: bundleHash, anchoredAt: uint64(block.timestamp)});
        emit Anchored(commitment, parent, msg.sender, bundleHash);
    }

    // ---------------------------------------------------------------- revocation

    /// @notice Revoke a record: its registrant, or for an original its device, may. The record stays (history is not
    ///         erased) with `revokedAt` set; no edit can be registered on top of it any more.
    function revoke(bytes32 commitment, string calldata reason) external {
        Record storage r = records[commitment];
        require(r.kind != Kind.None, "not registered");
        bool device = r.kind == Kind.Original && msg.sender == r.device;
        require(msg.sender == r.registrant || device, "only the registrant or the original's device may revoke");
        _revoke(r, commitment, msg.sender, reason);
    }

    /// @notice Revoke an original with its device's EIP-712 signature over (commitment, reason, nonce, deadline) under
    ///         this chain's id and this contract's address (`revokeDigest`), sent by anyone (a device key need not hold
    ///         ether). Each signature works once (the device's nonce moves on) and not after its deadline.
    function revokeBySignature(bytes32 commitment, string calldata reason, uint64 deadline, bytes calldata signature)
        external
    {
        require(block.timestamp <= deadline, "revocation signature expired");
        Record storage r = records[commitment];
        require(r.kind == Kind.Original, "only originals are revoked by their device");
        uint256 nonce = revokeNonces[r.device];
        address signer = _recoverSigner(revokeDigest(commitment, reason, nonce, deadline), signature);
        require(signer == r.device, "signature is not the original's device");
        revokeNonces[signer] = nonce + 1;
        _revoke(r, commitment, signer, reason);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The EIP-712 domain separator. Referencing `this` (a no-op that emits no code) marks the function `view`,
    ///      which keeps `captureDigest` `view` as published without a "can be restricted to pure" warning.
    function _domainSeparator() private view returns (bytes32) {
        this;
        return DOMAIN_SEPARATOR;
    }

    function _requireNew(bytes32 commitment) private view {
        require(uint256(commitment) < R, "commitment is not a field element");
        require(records[commitment].kind == Kind.None, "already registered");
    }

    function _revoke(Record storage r, bytes32 commitment, address by, string calldata reason) private {
        require(r.revokedAt == 0, "already revoked");
        r.revokedAt = uint64(block.timestamp);
        emit Revoked(commitment, by, reason);
    }

    /// @dev Strict signature checks (length, v, low s) so every capture has exactly one valid signature encoding.
    function _recoverSigner(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        require(signature.length == 65, "signature must be 65 bytes");
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        require(v == 27 || v == 28, "bad signature v");
        require(uint256(s) <= HALF_ORDER, "signature s is not low");
        signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "signature does not recover");
    }

    /// @dev Verifies every step in order, threading the commitment through; returns the total number of tile proofs.
    function _verifySteps(bytes32 parent, Step[] calldata steps) private view returns (uint32 proofs) {
        bytes32 cin = parent;
        for (uint256 i = 0; i < steps.length; i++) {
            proofs += _verifyStep(i + 1, steps[i], cin);
            cin = steps[i].output;
        }
    }

    /// @dev One step: its statement must be approved, and each of its tiles must carry a valid proof of
    ///      cin → step.output. Revert messages are built only on failure, to keep the success path cheap.
    function _verifyStep(uint256 stepNo, Step calldata step, bytes32 cin) private view returns (uint32) {
        if (!approvedSteps[stepHash(step)]) {
            revert(string.concat(_stepLabel(stepNo, step.filter), ": statement not approved by the registry owner"));
        }
        uint256 n = step.tiles.length;
        if (n == 0) {
            revert(string.concat(_stepLabel(stepNo, step.filter), ": has no tile proofs"));
        }
        for (uint256 j = 0; j < n; j++) {
            _verifyTile(stepNo, j + 1, step, cin);
        }
        return uint32(n);
    }

    function _verifyTile(uint256 stepNo, uint256 tileNo, Step calldata step, bytes32 cin) private view {
        TileProof calldata tile = step.tiles[tileNo - 1];
        address verifier = verifiers[tile.vkHash];
        if (verifier == address(0)) {
            revert(
                string.concat("step ", toDecimal(stepNo), ": tile ", toDecimal(tileNo), ": no verifier for its key")
            );
        }
        if (!Groth16Call.verify(verifier, tile.proof, _tileInputs(cin, step.output, tile.tail))) {
            revert(
                string.concat(
                    _stepLabel(stepNo, step.filter), ": tile ", toDecimal(tileNo), ": proof does not verify"
                )
            );
        }
    }

    /// @dev Public inputs of a tile proof: [input commitment, output commitment, tail...].
    function _tileInputs(bytes32 cin, bytes32 cout, uint256[] calldata tail) private pure returns (uint256[] memory inputs) {
        inputs = new uint256[](tail.length + 2);
        inputs[0] = uint256(cin);
        inputs[1] = uint256(cout);
        for (uint256 k = 0; k < tail.length; k++) {
            inputs[k + 2] = tail[k];
        }
    }

    /// @dev "step <i> (<filter>)", the prefix users see in step-related revert messages.
    function _stepLabel(uint256 stepNo, string calldata filter) private pure returns (string memory) {
        return string.concat("step ", toDecimal(stepNo), " (", filter, ")");
    }

    /// @dev The filtergraph of an edit: the steps' filter strings joined with ",".
    function _joinFilters(Step[] calldata steps) private pure returns (string memory) {
        bytes memory out = bytes(steps[0].filter);
        for (uint256 i = 1; i < steps.length; i++) {
            out = bytes.concat(out, ",", bytes(steps[i].filter));
        }
        return string(out);
    }
}
