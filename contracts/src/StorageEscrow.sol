// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Groth16Call} from "./Groth16Call.sol";
import {MediaRegistry} from "./MediaRegistry.sol";

/// @title StorageEscrow
/// @notice Pays a storage worker per epoch for proving it still holds a committed video, with challenges the worker
///         cannot predict.
///
/// Flow: the client opens a deal with a deposit and one hidden challenge commitment per epoch (a hash of the frame
/// region, the Merkle root it expects, a salt and the frame indices), a worker accepts it, and every epoch the client
/// reveals that epoch's challenge. The worker then has until the epoch deadline to submit a Groth16 proof for it and
/// be paid. After the deadline anyone can settle: a challenge that was revealed but never proven refunds the client; a
/// challenge the client never revealed pays the worker, so withholding reveals cannot save the client money.
contract StorageEscrow {
    /// @dev BN254 scalar field modulus: the root and nonce are public inputs of the proof.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Domain tag of the challenge commitments, so they cannot be confused with other sha256 preimages.
    bytes32 public constant CHALLENGE_DOMAIN = sha256("mpegs.storage.challenge.v1");

    enum EpochState {
        Pending,
        Revealed,
        Paid,
        Refunded
    }

    struct Deal {
        address client;
        address worker;
        bytes32 vkHash;
        uint32 k; // frames challenged per epoch
        uint32 frames; // frames in the stored video
        uint32 epochs;
        uint64 epochSeconds;
        uint64 start; // accept time, 0 until accepted
        uint256 paymentPerEpoch;
        bool cancelled;
    }

    /// @dev Per-epoch state. `indices` is non-empty exactly when the challenge has been revealed (k > 0).
    struct Epoch {
        bytes32 commitment;
        EpochState state;
        bytes32 root;
        uint256 nonce;
        uint32[] indices;
    }

    /// @notice Source of verifiers: the proof for deal `id` is checked by `registry.verifiers(deal.vkHash)`.
    MediaRegistry public immutable registry;
    /// @notice Number of deals opened; deal ids are 1..dealCount.
    uint256 public dealCount;

    mapping(uint256 => Deal) private deals;
    mapping(uint256 => mapping(uint256 => Epoch)) private epochData;

    event DealOpened(uint256 indexed id, address indexed client, bytes32 vkHash, uint32 epochs, uint256 deposit);
    event DealAccepted(uint256 indexed id, address indexed worker, uint64 start);
    event DealCancelled(uint256 indexed id);
    event ChallengeRevealed(uint256 indexed id, uint32 indexed epoch, bytes32 root, uint256 nonce);
    /// @param proven false when paid because the client never revealed the challenge
    event EpochPaid(uint256 indexed id, uint32 indexed epoch, address worker, uint256 amount, bool proven);
    event EpochRefunded(uint256 indexed id, uint32 indexed epoch, address client, uint256 amount);

    constructor(MediaRegistry registry_) {
        registry = registry_;
    }

    // ---------------------------------------------------------------- views

    function deal(uint256 id) external view returns (Deal memory) {
        return _deal(id);
    }

    /// @notice The hidden challenge commitment of `epoch`, as given at open.
    function commitment(uint256 id, uint32 epoch) external view returns (bytes32) {
        return _epoch(id, _deal(id), epoch).commitment;
    }

    function epochState(uint256 id, uint32 epoch) external view returns (EpochState) {
        return _epoch(id, _deal(id), epoch).state;
    }

    /// @notice End of `epoch`'s reveal/proof window: start + (epoch + 1) * epochSeconds (saturating at 2^64 - 1).
    function deadline(uint256 id, uint32 epoch) public view returns (uint64) {
        return _deadline(_deal(id), epoch);
    }

    /// @notice Public inputs of `epoch`'s proof, [root, nonce, indices...]; reverts until the challenge is revealed.
    function publicInputs(uint256 id, uint32 epoch) external view returns (uint256[] memory) {
        Epoch storage e = _epoch(id, _deal(id), epoch);
        require(e.indices.length > 0, "epoch not revealed");
        return _publicInputs(e);
    }

    // ---------------------------------------------------------------- deal lifecycle

    /// @notice Open a deal: one challenge commitment per epoch; the deposit is split evenly across the epochs.
    /// @return id the new deal id (ids start at 1)
    function open(bytes32 vkHash, uint32 k, uint32 frames, uint64 epochSeconds, bytes32[] calldata commitments)
        external
        payable
        returns (uint256 id)
    {
        uint256 n = commitments.length;
        require(n > 0, "no epochs");
        require(k > 0 && k <= frames, "k must be between 1 and the frame count");
        require(epochSeconds > 0, "epochSeconds must be positive");
        require(msg.value > 0 && msg.value % n == 0, "deposit must split evenly across epochs");
        require(registry.verifiers(vkHash) != address(0), "no verifier registered for this key");

        id = ++dealCount;
        deals[id] = Deal({
            client: msg.sender,
            worker: address(0),
            vkHash: vkHash,
            k: k,
            frames: frames,
            epochs: uint32(n), // cannot truncate: 2^32 commitments would not fit in a transaction
            epochSeconds: epochSeconds,
            start: 0,
            paymentPerEpoch: msg.value / n,
            cancelled: false
        });
        for (uint256 i = 0; i < n; i++) {
            epochData[id][i].commitment = commitments[i];
        }
        emit DealOpened(id, msg.sender, vkHash, uint32(n), msg.value);
    }

    /// @notice Withdraw an offer nobody has accepted yet; the whole deposit goes back to the client.
    function cancel(uint256 id) external {
        Deal storage d = _deal(id);
        require(msg.sender == d.client, "only the deal's client");
        require(d.start == 0, "deal already accepted");
        require(!d.cancelled, "deal already cancelled");
        d.cancelled = true;
        emit DealCancelled(id);
        _pay(d.client, d.paymentPerEpoch * d.epochs, "refund failed");
    }

    /// @notice Take the deal as its worker; the epoch clock starts now.
    function accept(uint256 id) external {
        Deal storage d = _deal(id);
        require(msg.sender != d.client, "the client cannot accept its own deal");
        require(!d.cancelled, "deal cancelled");
        require(d.start == 0, "deal already accepted");
        d.worker = msg.sender;
        d.start = uint64(block.timestamp);
        emit DealAccepted(id, msg.sender, d.start);
    }

    /// @notice Reveal `epoch`'s challenge: it must open the commitment given at `open`.
    /// @dev The proof's nonce is derived from the commitment (reduced mod R), so it is fixed in advance and unknown
    ///      to the worker until now, yet needs no separate randomness.
    function reveal(
        uint256 id,
        uint32 epoch,
        uint32 x,
        uint32 y,
        uint32 size,
        bytes32 root,
        bytes32 salt,
        uint32[] calldata indices
    ) external {
        Deal storage d = _accepted(id);
        Epoch storage e = _epoch(id, d, epoch);
        require(e.state == EpochState.Pending, "epoch already revealed or settled");
        require(block.timestamp <= _deadline(d, epoch), "epoch deadline passed");
        _checkIndices(d, indices);
        require(
            _challengeHash(epoch, x, y, size, root, salt, indices) == e.commitment,
            "reveal does not match the committed challenge"
        );
        require(uint256(root) < R, "root is not a field element");

        e.root = root;
        e.nonce = uint256(e.commitment) % R;
        e.indices = indices;
        e.state = EpochState.Revealed;
        emit ChallengeRevealed(id, epoch, root, e.nonce);
    }

    /// @notice Prove `epoch`'s revealed challenge and be paid for the epoch.
    function submit(uint256 id, uint32 epoch, uint256[8] calldata proof) external {
        Deal storage d = _deal(id);
        require(msg.sender == d.worker, "only the deal's worker");
        Epoch storage e = _epoch(id, d, epoch);
        require(e.state != EpochState.Pending, "epoch not revealed");
        require(e.state == EpochState.Revealed, "epoch already settled");
        require(block.timestamp <= _deadline(d, epoch), "epoch deadline passed");
        address verifier = registry.verifiers(d.vkHash);
        require(Groth16Call.verify(verifier, proof, _publicInputs(e)), "proof does not verify");

        e.state = EpochState.Paid;
        emit EpochPaid(id, epoch, d.worker, d.paymentPerEpoch, true);
        _pay(d.worker, d.paymentPerEpoch, "payment failed");
    }

    /// @notice After `epoch`'s deadline: pay the worker if the client never revealed, refund the client if the
    ///         worker never proved the revealed challenge. Anyone may call it.
    function settle(uint256 id, uint32 epoch) external {
        Deal storage d = _accepted(id);
        Epoch storage e = _epoch(id, d, epoch);
        require(block.timestamp > _deadline(d, epoch), "epoch deadline not reached");
        if (e.state == EpochState.Pending) {
            e.state = EpochState.Paid;
            emit EpochPaid(id, epoch, d.worker, d.paymentPerEpoch, false);
            _pay(d.worker, d.paymentPerEpoch, "payment failed");
        } else if (e.state == EpochState.Revealed) {
            e.state = EpochState.Refunded;
            emit EpochRefunded(id, epoch, d.client, d.paymentPerEpoch);
            _pay(d.client, d.paymentPerEpoch, "refund failed");
        } else {
            revert("epoch already settled");
        }
    }

    // ---------------------------------------------------------------- internals

    function _deal(uint256 id) private view returns (Deal storage d) {
        d = deals[id];
        require(d.client != address(0), "no such deal");
    }

    function _accepted(uint256 id) private view returns (Deal storage d) {
        d = _deal(id);
        require(d.start != 0, "deal not accepted");
    }

    function _epoch(uint256 id, Deal storage d, uint32 epoch) private view returns (Epoch storage) {
        require(epoch < d.epochs, "no such epoch");
        return epochData[id][epoch];
    }

    /// @dev Computed in 256 bits so a huge epochSeconds cannot make the deadline wrap around or revert.
    function _deadline(Deal storage d, uint32 epoch) private view returns (uint64) {
        uint256 end = uint256(d.start) + (uint256(epoch) + 1) * d.epochSeconds;
        return end > type(uint64).max ? type(uint64).max : uint64(end);
    }

    function _checkIndices(Deal storage d, uint32[] calldata indices) private view {
        require(indices.length == d.k, "wrong number of indices");
        uint32 frames = d.frames;
        for (uint256 i = 0; i < indices.length; i++) {
            require(indices[i] < frames, "index out of range");
        }
    }

    /// @dev sha256(CHALLENGE_DOMAIN ‖ epoch ‖ x ‖ y ‖ size ‖ root ‖ salt ‖ indices...), every value a 32-byte word.
    function _challengeHash(
        uint32 epoch,
        uint32 x,
        uint32 y,
        uint32 size,
        bytes32 root,
        bytes32 salt,
        uint32[] calldata indices
    ) private pure returns (bytes32) {
        uint256[] memory words = new uint256[](indices.length);
        for (uint256 i = 0; i < indices.length; i++) {
            words[i] = indices[i];
        }
        return sha256(
            abi.encodePacked(
                CHALLENGE_DOMAIN, uint256(epoch), uint256(x), uint256(y), uint256(size), root, salt, words
            )
        );
    }

    /// @dev [root, nonce, indices...] of a revealed epoch.
    function _publicInputs(Epoch storage e) private view returns (uint256[] memory inputs) {
        uint256 n = e.indices.length;
        inputs = new uint256[](n + 2);
        inputs[0] = uint256(e.root);
        inputs[1] = e.nonce;
        for (uint256 i = 0; i < n; i++) {
            inputs[i + 2] = e.indices[i];
        }
    }

    /// @dev Plain value transfer after all state changes (checks-effects-interactions), so re-entry sees the epoch
    ///      already settled.
    function _pay(address to, uint256 amount, string memory failure) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        require(ok, failure);
    }
}
