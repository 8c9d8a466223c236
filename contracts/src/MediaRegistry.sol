// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Groth16Call, toDecimal} from "./Groth16Call.sol";

/// @title MediaRegistry
/// @notice On-chain provenance for media commitments (BN254 field elements).
///
/// Three ways to get a commitment on the registry:
/// - `registerOriginal`: a capture device signs (EIP-712) the commitment of what it recorded. The registry only checks
///   the signature; which devices to trust is up to the reader, who looks the record up by (commitment, device).
/// - `registerEdit`: a chain of edit steps, each proven with one Groth16 proof per tile, takes a registered original
///   (or edit) to a new commitment. Every proof is verified here, and the statement of every step (filter text and
///   per-tile verifying keys/extra inputs) must have been approved by the owner, so a proof cannot smuggle in an
///   unreviewed transformation.
/// - `anchor`: records that an off-chain bundle (hash) proves `commitment` from a registered parent. Nothing is
///   verified on-chain, so anchors live apart from the verified records, keyed by (commitment, anchorer): an anchor
///   claims no device, names who made it, and never blocks anyone else's anchor or a verified original or edit of
///   the same commitment.
///
/// Records nobody else can take (docs/chain.md §3):
/// - Verified records are keyed by (commitment, device), the device being the original's signer (an edit inherits
///   its parent's). Any signature recovers *some* address (flipping `v` gives another valid signature of another
///   address), so a record under a device nobody holds the key of is possible, and harmless: it cannot block or
///   change the record of the device that really signed, which readers look up by that device.
/// - A record is a fact checked here (a signature, or proofs), the same whoever sends it: the registrant is only
///   who paid, and has no power over it. Revocation belongs to the device alone (its account, or its EIP-712
///   signature bound to this chain, this contract, a per-device nonce and a deadline), for originals and for the
///   edits built on them. A stranger who registers someone's record first has only paid their gas.
/// - Revocation propagates: a record whose ancestor is revoked shows as revoked (`record`), and no edit can be
///   registered on it. Edit chains are at most `MAX_DEPTH` deep, which bounds that walk.
///
/// Verifier pins name their key: a verifier must answer `vkHash()` with the key hash it is pinned under, and answer
/// like a verifier of that arity. A pin can be corrected only by the owner and only in the open: a replacement is
/// proposed (event), waits `VERIFIER_REPLACEMENT_DELAY`, and is then applied (event); ownership moves in two steps.
contract MediaRegistry {
    /// @dev BN254 scalar field modulus: commitments are public inputs of the proofs, so they must be below it.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Longest edit chain above an original: the bundle format's history depth limit (`MAX_HISTORY_DEPTH`, 32
    ///         parents), so no history a bundle can carry is refused. Bounds the walk that
    ///         propagates revocation from ancestors.
    uint16 public constant MAX_DEPTH = 32;

    /// @notice Time between proposing a replacement of a verifier pin and applying it: long enough for anyone who
    ///         relies on the registry to see the `VerifierReplacementProposed` event and react.
    uint64 public constant VERIFIER_REPLACEMENT_DELAY = 3 days;

    /// @dev EIP-712 domain without chainId/verifyingContract: a device signs what it captured, independent of which
    ///      chain or registry deployment the capture is later registered on. Evaluates to
    ///      0xcb76e99de6d650573d5ace3a652e85cb97429ea08f78057d7659121a3ceb7328. A constant, not an immutable, so the
    ///      deployed code equals the artifact's deployedBytecode byte for byte (the tooling checks deployments by code
    ///      hash); for the same reason the registry does not inherit OpenZeppelin's `EIP712`, which caches its domain
    ///      in immutables, and builds digests with its `MessageHashUtils` instead.
    bytes32 internal constant DOMAIN_SEPARATOR =
        keccak256(abi.encode(keccak256("EIP712Domain(string name,string version)"), keccak256("mpegs"), keccak256("1")));

    bytes32 internal constant CAPTURE_TYPEHASH = keccak256(
        "MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,uint64 capturedAt,string deviceId)"
    );

    /// @dev Revocations are signed under a domain bound to this chain and this contract (unlike captures), with a
    ///      per-device nonce and a deadline, so a signature revokes one record on one registry, once. The record is
    ///      (commitment, signer): a device can only ever revoke its own records.
    bytes32 internal constant REVOKE_TYPEHASH =
        keccak256("Revoke(bytes32 commitment,string reason,uint256 nonce,uint64 deadline)");

    enum Kind {
        None,
        Original,
        Edit
    }

    /// @notice A verified record: an original (device signature checked) or an edit (every proof checked), stored
    ///         under (commitment, device).
    struct Record {
        Kind kind;
        uint16 depth; // 0 for originals, parent's + 1 for edits
        uint64 revokedAt; // in `record`: when it or its nearest revoked ancestor was revoked; 0 while valid
        address device; // Original: recovered signer; Edit: the device of the chain's original
        address registrant; // msg.sender: who paid; no power over the record
        uint64 registeredAt; // block.timestamp
        uint32 proofs; // Edit: number of tile proofs verified on-chain; else 0
        bytes32 parent; // 0 for originals; an edit's parent is (parent, device)
        bytes32 statement; // Original: keccak256(bytes(deviceId)); Edit: keccak256(bytes(filtergraph))
        bytes32 revokedVia; // in `record`: the revoked commitment (itself or an ancestor); never stored
    }
    // Layout: (kind, depth, revokedAt, device) share one slot, (registrant, registeredAt, proofs) another, so an
    // original costs three new slots, a revocation rewrites one, and the ancestor walk reads two per level.

    /// @notice An unverified claim by `anchorer` that the bundle `bundleHash` proves the commitment from `parent`.
    struct Anchor {
        bytes32 parent;
        bytes32 bundleHash; // sha256 of the bundle file
        address parentDevice; // nonzero: the parent is the verified record (parent, parentDevice); 0: the anchorer's anchor
        uint64 anchoredAt; // 0: no such anchor (packed with parentDevice: three slots in all)
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

    /// @notice A proposed replacement of a pin (see `proposeVerifierReplacement`).
    struct PendingVerifier {
        address verifier;
        uint64 readyAt; // 0: none proposed
    }

    address public owner;
    /// @notice The account `transferOwnership` named; it becomes the owner when it calls `acceptOwnership`.
    address public pendingOwner;
    /// @notice Verifying-key hash → deployed verifier (which names that hash: `vkHash()`). Read by the escrow when a
    ///         deal opens. Changed only through a delayed, event-logged replacement.
    mapping(bytes32 => address) public verifiers;
    /// @notice Verifying-key hash → the replacement waiting for its delay.
    mapping(bytes32 => PendingVerifier) public pendingVerifiers;
    /// @notice Step hash (see `stepHash`) → approved by the owner.
    mapping(bytes32 => bool) public approvedSteps;
    /// @notice Next revocation nonce of each device (for `revokeBySignature`).
    mapping(address => uint256) public revokeNonces;

    /// @dev recordId(commitment, device) → record (stored with its own revokedAt and revokedVia 0).
    mapping(bytes32 => Record) private records;
    mapping(bytes32 => mapping(address => Anchor)) private anchors;

    event VerifierSet(bytes32 indexed vkHash, address verifier);
    event VerifierReplacementProposed(bytes32 indexed vkHash, address current, address proposed, uint64 readyAt);
    event VerifierReplacementCancelled(bytes32 indexed vkHash, address proposed);
    event VerifierReplaced(bytes32 indexed vkHash, address previous, address verifier);
    event StepApproved(bytes32 indexed stepHash);
    event OriginalRegistered(
        bytes32 indexed commitment, address indexed device, address indexed registrant, string deviceId, uint64 capturedAt
    );
    event EditRegistered(
        bytes32 indexed commitment,
        bytes32 indexed parent,
        address indexed registrant,
        address device,
        string filtergraph,
        uint32 proofs
    );
    event Anchored(bytes32 indexed commitment, bytes32 indexed parent, address indexed anchorer, bytes32 bundleHash);
    event Revoked(bytes32 indexed commitment, address indexed device, address indexed sender, string reason);
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

    /// @notice Pin the verifier for a verifying key with `inputs` public inputs. It must have code, name the key
    ///         (`vkHash()` == `vkHash`) and answer like a verifier of that arity (`Groth16Call.answersProbe`), so a
    ///         typo, a genuine verifier of another key, a contract that returns `false` or one with a permissive
    ///         fallback is refused here instead of accepting or blocking proofs later.
    /// @dev A key that is pinned already changes only through `proposeVerifierReplacement` and its delay.
    function setVerifier(bytes32 vkHash, address verifier, uint256 inputs) external onlyOwner {
        require(verifiers[vkHash] == address(0), "verifier already pinned for this key (propose a replacement)");
        _checkVerifier(vkHash, verifier, inputs);
        verifiers[vkHash] = verifier;
        emit VerifierSet(vkHash, verifier);
    }

    /// @notice Propose to replace the pinned verifier of `vkHash` (a wrong pin, a verifier with a bug): the new one
    ///         passes the same checks as `setVerifier` now, and can be applied with `replaceVerifier` after
    ///         `VERIFIER_REPLACEMENT_DELAY`. A new proposal replaces a pending one (and restarts the delay).
    /// @dev Records registered before stay as they were: they were verified when registered. Deals of the escrow keep
    ///      the verifier they were opened with.
    function proposeVerifierReplacement(bytes32 vkHash, address verifier, uint256 inputs) external onlyOwner {
        address current = verifiers[vkHash];
        require(current != address(0), "no verifier pinned for this key (use setVerifier)");
        require(verifier != current, "that verifier is pinned already");
        _checkVerifier(vkHash, verifier, inputs);
        uint64 readyAt = uint64(block.timestamp) + VERIFIER_REPLACEMENT_DELAY;
        pendingVerifiers[vkHash] = PendingVerifier({verifier: verifier, readyAt: readyAt});
        emit VerifierReplacementProposed(vkHash, current, verifier, readyAt);
    }

    /// @notice Withdraw a proposed replacement.
    function cancelVerifierReplacement(bytes32 vkHash) external onlyOwner {
        PendingVerifier memory p = pendingVerifiers[vkHash];
        require(p.readyAt != 0, "no replacement proposed for this key");
        delete pendingVerifiers[vkHash];
        emit VerifierReplacementCancelled(vkHash, p.verifier);
    }

    /// @notice Apply a proposed replacement once its delay is over.
    function replaceVerifier(bytes32 vkHash) external onlyOwner {
        PendingVerifier memory p = pendingVerifiers[vkHash];
        require(p.readyAt != 0, "no replacement proposed for this key");
        require(block.timestamp >= p.readyAt, "the replacement delay is not over");
        // Code can vanish only by SELFDESTRUCT in its creating transaction (Cancun), but check it is still there.
        require(p.verifier.code.length > 0, "verifier has no code");
        address previous = verifiers[vkHash];
        verifiers[vkHash] = p.verifier;
        delete pendingVerifiers[vkHash];
        emit VerifierReplaced(vkHash, previous, p.verifier);
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

    /// @notice The key of the record of `commitment` by `device`.
    function recordId(bytes32 commitment, address device) public pure returns (bytes32) {
        return keccak256(abi.encode(commitment, device));
    }

    /// @notice The verified record of `commitment` under `device` (kind None if unknown), with revocation propagated:
    ///         `revokedAt`/`revokedVia` name the record itself or its nearest revoked ancestor.
    function record(bytes32 commitment, address device) external view returns (Record memory r) {
        r = records[recordId(commitment, device)];
        if (r.kind != Kind.None) {
            (r.revokedVia, r.revokedAt) = _revocation(commitment, device);
        }
    }

    /// @notice `anchorer`'s anchor of `commitment` (anchoredAt 0 if none).
    function anchorOf(bytes32 commitment, address anchorer) external view returns (Anchor memory) {
        return anchors[commitment][anchorer];
    }

    /// @notice EIP-712 digest a device signs to revoke its record of `commitment` (see `revokeBySignature`).
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
        return MessageHashUtils.toTypedDataHash(domain, structHash);
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
        return MessageHashUtils.toTypedDataHash(_domainSeparator(), structHash);
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

    /// @notice Register an original capture signed by `device` (EIP-712, see `captureDigest`), under
    ///         (commitment, device). Anyone may send it; the record is the same whoever does.
    /// @param device the address the signature must recover: a call naming a device the signature does not recover
    ///        (e.g. the genuine device with `v` flipped) is refused
    /// @param signature 65 bytes r ‖ s ‖ v with v ∈ {27, 28} and low s (OpenZeppelin `ECDSA`)
    function registerOriginal(
        bytes32 commitment,
        uint8 format,
        uint32 width,
        uint32 height,
        uint64 capturedAt,
        string calldata deviceId,
        address device,
        bytes calldata signature
    ) external {
        require(uint256(commitment) < R, "commitment is not a field element");
        bytes32 digest = captureDigest(commitment, format, width, height, capturedAt, deviceId);
        require(_recoverSigner(digest, signature) == device, "the signature is not by the named device");
        Record storage r = records[recordId(commitment, device)];
        require(r.kind == Kind.None, "already registered");
        r.kind = Kind.Original;
        r.statement = keccak256(bytes(deviceId));
        r.registrant = msg.sender;
        r.device = device;
        r.registeredAt = uint64(block.timestamp);
        emit OriginalRegistered(commitment, device, msg.sender, deviceId, capturedAt);
    }

    /// @notice Register the result of a chain of proven edit steps applied to `device`'s record of `parent`, under
    ///         (child, device). Anyone may send it: the record is a fact the proofs establish, the same whoever
    ///         sends it, and the sender gets no power over it.
    /// @dev Step i's input commitment is step i-1's output (the parent for the first step). The child is the last
    ///      step's output. Anchors of the same commitment do not block it: they live apart.
    /// @return commitment the registered child commitment
    function registerEdit(bytes32 parent, address device, Step[] calldata steps) external returns (bytes32 commitment) {
        require(steps.length > 0, "an edit needs at least one step");
        Record storage p = records[recordId(parent, device)];
        require(p.kind != Kind.None, "parent is not registered with verified provenance for that device");
        require(p.depth < MAX_DEPTH, "the edit chain is too deep");
        (bytes32 revoked,) = _revocation(parent, device);
        if (revoked != bytes32(0)) {
            revert(revoked == parent ? "parent is revoked" : "an ancestor of the parent is revoked");
        }

        uint32 proofs = _verifySteps(parent, steps);
        commitment = steps[steps.length - 1].output;
        require(uint256(commitment) < R, "commitment is not a field element");
        Record storage r = records[recordId(commitment, device)];
        require(r.kind == Kind.None, "already registered");

        string memory filtergraph = _joinFilters(steps);
        r.kind = Kind.Edit;
        r.parent = parent;
        r.statement = keccak256(bytes(filtergraph));
        r.registrant = msg.sender;
        r.device = device;
        r.registeredAt = uint64(block.timestamp);
        r.proofs = proofs;
        r.depth = p.depth + 1;
        emit EditRegistered(commitment, parent, msg.sender, device, filtergraph, proofs);
    }

    /// @notice Record, as the sender's own claim, that an off-chain proof bundle (`bundleHash`) links `commitment` to
    ///         `parent`: `parentDevice`'s verified record of it, or (`parentDevice` 0) an anchor the sender made.
    /// @dev Nothing is verified here; readers must fetch and check the bundle. Keyed by (commitment, sender), an anchor
    ///      names no device and cannot block anyone else's anchor or any verified record of the same commitment.
    function anchor(bytes32 commitment, bytes32 parent, address parentDevice, bytes32 bundleHash) external {
        require(uint256(commitment) < R, "commitment is not a field element");
        if (parentDevice != address(0)) {
            require(records[recordId(parent, parentDevice)].kind != Kind.None, "parent is not registered");
        } else {
            require(anchors[parent][msg.sender].anchoredAt != 0, "parent is not registered");
        }
        require(anchors[commitment][msg.sender].anchoredAt == 0, "already anchored by this account");
        anchors[commitment][msg.sender] = Anchor({
            parent: parent,
            bundleHash: bundleHash,
            parentDevice: parentDevice,
            anchoredAt: uint64(block.timestamp)
        });
        emit Anchored(commitment, parent, msg.sender, bundleHash);
    }

    // ---------------------------------------------------------------- revocation

    /// @notice Revoke the sender's own record of `commitment`: the sender is the device of its original. Registrants
    ///         have no such power. The record stays (history is not erased) with `revokedAt` set; it and every edit
    ///         built on it show as revoked, and no edit can be registered on any of them.
    function revoke(bytes32 commitment, string calldata reason) external {
        _revoke(commitment, msg.sender, reason);
    }

    /// @notice Revoke `device`'s record of `commitment` (an original or an edit of its chain) with the device's
    ///         EIP-712 signature over (commitment, reason, nonce, deadline) under this chain's id and this contract's
    ///         address (`revokeDigest`), sent by anyone (a device key need not hold ether). Each signature works once
    ///         (the device's nonce moves on) and not after its deadline.
    function revokeBySignature(
        bytes32 commitment,
        address device,
        string calldata reason,
        uint64 deadline,
        bytes calldata signature
    ) external {
        require(block.timestamp <= deadline, "revocation signature expired");
        uint256 nonce = revokeNonces[device];
        address signer = _recoverSigner(revokeDigest(commitment, reason, nonce, deadline), signature);
        require(signer == device, "signature is not the record's device");
        revokeNonces[device] = nonce + 1;
        _revoke(commitment, device, reason);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The EIP-712 domain separator. Referencing `this` (a no-op that emits no code) marks the function `view`,
    ///      which keeps `captureDigest` `view` as published without a "can be restricted to pure" warning.
    function _domainSeparator() private view returns (bytes32) {
        this;
        return DOMAIN_SEPARATOR;
    }

    /// @dev The nearest revoked record on the way from (commitment, device) up to its original, and when it was
    ///      revoked; (0, 0) if none. At most `MAX_DEPTH` + 1 records are read.
    function _revocation(bytes32 commitment, address device) private view returns (bytes32, uint64) {
        bytes32 c = commitment;
        for (uint256 i = 0; i <= MAX_DEPTH; i++) {
            Record storage r = records[recordId(c, device)];
            if (r.revokedAt != 0) {
                return (c, r.revokedAt);
            }
            if (r.kind != Kind.Edit) {
                break;
            }
            c = r.parent;
        }
        return (bytes32(0), 0);
    }

    function _checkVerifier(bytes32 vkHash, address verifier, uint256 inputs) private view {
        require(verifier.code.length > 0, "verifier has no code");
        require(Groth16Call.namesKey(verifier, vkHash), "the verifier does not name this key (vkHash())");
        require(Groth16Call.answersProbe(verifier, inputs), "not a Groth16 verifier with that many inputs");
    }

    function _revoke(bytes32 commitment, address device, string calldata reason) private {
        Record storage r = records[recordId(commitment, device)];
        require(r.kind != Kind.None, "no record of this commitment by this device");
        require(r.revokedAt == 0, "already revoked");
        r.revokedAt = uint64(block.timestamp);
        emit Revoked(commitment, device, msg.sender, reason);
    }

    /// @dev Strict signature checks: 65 bytes, v ∈ {27, 28}, low s (OpenZeppelin `ECDSA`), a nonzero signer, so every
    ///      signer has exactly one valid encoding of its signature. Failures keep mpegs' revert strings.
    function _recoverSigner(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        require(signature.length == 65, "signature must be 65 bytes");
        uint8 v = uint8(signature[64]);
        require(v == 27 || v == 28, "bad signature v");
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecoverCalldata(digest, signature);
        require(err != ECDSA.RecoverError.InvalidSignatureS, "signature s is not low");
        require(err == ECDSA.RecoverError.NoError && signer != address(0), "signature does not recover");
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
