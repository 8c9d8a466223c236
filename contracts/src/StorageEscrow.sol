// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Groth16Call} from "./Groth16Call.sol";
import {MediaRegistry} from "./MediaRegistry.sol";

/// @title StorageEscrow
/// @notice Pays a named storage worker per epoch for proving it still holds a committed video, with challenges the
///         worker cannot predict, collateral the worker forfeits for a missed epoch, and payouts by withdrawal.
///
/// Lifecycle (docs/chain.md §4 has the timeline):
/// - `open` (client): names the worker, the circuit (key hash; its verifier is fixed for the deal here), the segment's
///   content commitment and shape, the schedule and one hidden challenge commitment per epoch, and deposits the
///   payment, with the worker's EIP-712 signature over exactly that offer (client, terms, commitments, a single-use
///   nonce), so the worker agreed to the content before it posts collateral. The parameters are checked here too:
///   1 ≤ k ≤ frames, depth = ⌈log₂ frames⌉, and the pinned verifier answers with k + 2 public inputs. Every challenge
///   commitment opens only with the deal's `binding` (chain, escrow, client, worker, offer nonce, content), so one
///   challenge file cannot back two deals.
/// - `accept` (the named worker, before `acceptBy`): posts the collateral; epoch e starts at start + e·epochSeconds.
///   `cancel` (client) withdraws an offer nobody accepted.
/// - `reveal` (client, inside epoch e's reveal window): opens challenge e. A well-formed challenge starts the proof
///   window, which ends proofWindow seconds after the reveal, however late in its window the reveal came. A challenge
///   that opens its commitment but is malformed (indices or root out of range) pays the worker.
/// - `submit` (worker, inside the proof window): a Groth16 proof for [root, nonce, indices…] pays the epoch. The nonce
///   binds chain id, this contract, the deal, the epoch, the worker and the commitment, so a proof is good for one
///   epoch of one deal only.
/// - `settle` (anyone): an epoch never revealed in its window pays the worker; a revealed epoch never proven in its
///   proof window refunds the client its payment and burns the epoch's collateral — it never goes to the client, who
///   could otherwise profit from revealing a root no content has (docs/chain.md §4, incentives).
/// - `exit` (worker, after a reveal it did not prove): ends the deal; every epoch whose reveal window has not closed
///   is cancelled (its payment back to the client, its collateral back to the worker), so a worker facing a bad
///   reveal loses that epoch's collateral and no more.
/// - `withdraw` (anyone owed): payouts are credited, never pushed, so a reverting receiver cannot block a deal.
contract StorageEscrow is EIP712 {
    /// @dev BN254 scalar field modulus: the root, nonce and indices are public inputs of the proof.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Domain tag of the challenge commitments, so they cannot be confused with other sha256 preimages.
    bytes32 public constant CHALLENGE_DOMAIN = sha256("mpegs.storage.challenge.v2");
    /// @notice Domain tag of a deal's binding (see `bindingOf`), which every challenge commitment of the deal opens with.
    bytes32 public constant BINDING_DOMAIN = keccak256("mpegs.storage.binding.v1");
    /// @notice EIP-712 types of the worker's offer signature.
    bytes32 public constant TERMS_TYPEHASH = keccak256(
        "Terms(address worker,bytes32 vkHash,bytes32 content,uint64 size,uint8 pixelFormat,uint32 k,uint32 width,"
        "uint32 height,uint32 frames,uint32 depth,uint32 epochs,uint64 epochSeconds,uint64 revealWindow,"
        "uint64 proofWindow,uint64 acceptBy,uint256 paymentPerEpoch,uint256 collateralPerEpoch)"
    );
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(address client,Terms terms,bytes32[] commitments,uint256 nonce)Terms(address worker,bytes32 vkHash,"
        "bytes32 content,uint64 size,uint8 pixelFormat,uint32 k,uint32 width,uint32 height,uint32 frames,uint32 depth,"
        "uint32 epochs,uint64 epochSeconds,uint64 revealWindow,uint64 proofWindow,uint64 acceptBy,"
        "uint256 paymentPerEpoch,uint256 collateralPerEpoch)"
    );
    /// @notice Domain tag of the proof nonce (see `nonceOf`).
    bytes32 public constant NONCE_DOMAIN = keccak256("mpegs.storage.nonce.v2");

    /// @notice Bounds that keep every deadline far from overflow and every deal finite.
    uint64 public constant MAX_EPOCH_SECONDS = 365 days;
    uint32 public constant MAX_EPOCHS = 1024;
    uint32 public constant MAX_K = 64;
    uint32 public constant MAX_FRAMES = 1 << 20;
    uint64 public constant MAX_OFFER_SECONDS = 30 days;
    /// @notice Regions are squares of a multiple of REGION_STEP pixels, at most MAX_REGION (mpegs_storage::phash).
    uint32 public constant REGION_STEP = 32;
    uint32 public constant MAX_REGION = 512;

    enum EpochState {
        Pending,
        Revealed,
        Paid, // to the worker: proven, never revealed, or malformed
        Refunded, // revealed but never proven: the payment back to the client, the collateral burned
        Cancelled // ended by the worker's exit before its reveal window closed: payment and collateral returned
    }

    enum DealState {
        None,
        Offered,
        Active,
        Cancelled,
        Exited // the worker ended it after a reveal it did not prove (`exit`)
    }

    /// @notice Everything the client offers, fixed at `open`.
    struct Terms {
        address worker;
        bytes32 vkHash;
        bytes32 content; // the segment's content commitment (mpegs_storage::content, docs/storage-proofs.md)
        uint64 size; // the segment file's size in bytes
        uint8 pixelFormat; // the decoded frames' pixel format (1 gray, 2 yuv420p, 3 yuv422p, 4 yuv444p)
        uint32 k; // frames challenged per epoch
        uint32 width; // frame size of the stored video: revealed regions must fit it
        uint32 height;
        uint32 frames; // frames in the stored video
        uint32 depth; // ⌈log₂ frames⌉, the circuit's tree depth
        uint32 epochs;
        uint64 epochSeconds; // epoch e starts at start + e·epochSeconds
        uint64 revealWindow; // the client reveals in [epoch start, epoch start + revealWindow]
        uint64 proofWindow; // the worker proves within proofWindow seconds of the reveal
        uint64 acceptBy; // the worker must accept by then
        uint256 paymentPerEpoch;
        uint256 collateralPerEpoch; // posted by the worker at accept
    }

    struct Deal {
        address client;
        DealState state;
        uint64 start; // accept time, 0 until accepted
        address verifier; // registry.verifiers(vkHash) at open, fixed for the deal
        uint32 endEpoch; // after `exit`: epochs from here on are cancelled (epochs until then)
        bytes32 binding; // bindingOf(client, worker, offer nonce, content): every challenge commitment opens with it
        uint256 offerNonce;
        Terms terms;
    }

    /// @dev Per-epoch state. `revealedAt` is non-zero exactly when a well-formed challenge was revealed.
    struct Epoch {
        bytes32 commitment;
        EpochState state;
        uint64 revealedAt;
        uint32 x;
        uint32 y;
        uint32 size;
        bytes32 root;
        uint256 nonce;
        uint32[] indices;
    }

    /// @notice Source of verifiers: a deal's verifier is `registry.verifiers(vkHash)` when it is opened.
    MediaRegistry public immutable registry;
    /// @notice The shortest proof window a deal may set (a deployment parameter).
    uint64 public immutable minProofWindow;
    /// @notice Number of deals opened; deal ids are 1..dealCount.
    uint256 public dealCount;
    /// @notice What each account can `withdraw`.
    mapping(address => uint256) public owed;
    /// @notice Collateral forfeited for unproven epochs: locked here for good, paid to nobody (see `settle`).
    uint256 public burned;
    /// @notice Offer nonces a worker has signed and a deal has used: each signature opens one deal.
    mapping(address => mapping(uint256 => bool)) public offerUsed;

    mapping(uint256 => Deal) private deals;
    mapping(uint256 => mapping(uint256 => Epoch)) private epochData;

    event DealOpened(
        uint256 indexed id, address indexed client, address indexed worker, address verifier, Terms terms
    );
    event DealAccepted(uint256 indexed id, address indexed worker, uint64 start, uint256 collateral);
    event DealCancelled(uint256 indexed id, address indexed client, uint256 refund);
    event ChallengeRevealed(
        uint256 indexed id,
        uint32 indexed epoch,
        uint32 x,
        uint32 y,
        uint32 size,
        bytes32 root,
        uint256 nonce,
        uint32[] indices,
        uint64 proofDeadline
    );
    /// @param reason 0 proven, 1 the client never revealed in its window, 2 the revealed challenge was malformed
    event EpochPaid(uint256 indexed id, uint32 indexed epoch, address indexed worker, uint256 amount, uint8 reason);
    /// @param burned the epoch's collateral, forfeited to nobody
    event EpochRefunded(
        uint256 indexed id, uint32 indexed epoch, address indexed client, uint256 amount, uint256 burned
    );
    /// @notice The worker ended the deal: epochs from `fromEpoch` on are cancelled, their payments credited back to
    ///         the client (`refund`) and their collateral to the worker (`returned`).
    event DealExited(uint256 indexed id, uint32 fromEpoch, uint256 refund, uint256 returned);
    event Withdrawn(address indexed to, uint256 amount);

    constructor(MediaRegistry registry_, uint64 minProofWindow_) EIP712("mpegs StorageEscrow", "1") {
        require(minProofWindow_ > 0 && minProofWindow_ <= MAX_EPOCH_SECONDS, "minProofWindow out of range");
        registry = registry_;
        minProofWindow = minProofWindow_;
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
        Deal storage d = _deal(id);
        EpochState s = _epoch(id, d, epoch).state;
        if (d.state == DealState.Exited && epoch >= d.endEpoch) {
            return EpochState.Cancelled;
        }
        return s;
    }

    /// @notice The word every challenge commitment of a deal opens with: keccak256(abi.encode(BINDING_DOMAIN,
    ///         chain id, this contract, client, worker, offer nonce, content)). A worker signs an offer nonce once, so
    ///         no two deals share a binding, and a commitment made for one deal cannot be opened in another.
    function bindingOf(address client, address worker, uint256 nonce, bytes32 content) public view returns (bytes32) {
        return keccak256(abi.encode(BINDING_DOMAIN, block.chainid, address(this), client, worker, nonce, content));
    }

    /// @notice The EIP-712 digest the worker signs for an offer (what `open` checks the signature against).
    function offerDigest(address client, Terms calldata terms, bytes32[] calldata commitments, uint256 nonce)
        public
        view
        returns (bytes32)
    {
        bytes32 termsHash = keccak256(abi.encode(TERMS_TYPEHASH, terms));
        return _hashTypedDataV4(
            keccak256(
                abi.encode(OFFER_TYPEHASH, client, termsHash, keccak256(abi.encodePacked(commitments)), nonce)
            )
        );
    }

    /// @notice Epoch `epoch`'s reveal window [opens, closes] and, once revealed, its proof deadline (0 before).
    function windows(uint256 id, uint32 epoch)
        external
        view
        returns (uint64 revealOpens, uint64 revealCloses, uint64 proofDeadline)
    {
        Deal storage d = _started(id);
        Epoch storage e = _epoch(id, d, epoch);
        (revealOpens, revealCloses) = _revealWindow(d, epoch);
        proofDeadline = e.revealedAt == 0 ? 0 : e.revealedAt + d.terms.proofWindow;
    }

    /// @notice The nonce a proof for `epoch` of deal `id` must carry: keccak256(NONCE_DOMAIN, chain id, this contract,
    ///         deal id, epoch, worker, commitment) reduced mod r.
    function nonceOf(uint256 id, uint32 epoch) public view returns (uint256) {
        Deal storage d = _deal(id);
        bytes32 c = _epoch(id, d, epoch).commitment;
        return uint256(keccak256(abi.encode(NONCE_DOMAIN, block.chainid, address(this), id, epoch, d.terms.worker, c)))
            % R;
    }

    /// @notice A revealed challenge: the region, the root, the nonce and the indices; reverts until revealed.
    function challenge(uint256 id, uint32 epoch)
        external
        view
        returns (uint32 x, uint32 y, uint32 size, bytes32 root, uint256 nonce, uint32[] memory indices)
    {
        Epoch storage e = _epoch(id, _deal(id), epoch);
        require(e.revealedAt != 0, "epoch not revealed");
        return (e.x, e.y, e.size, e.root, e.nonce, e.indices);
    }

    /// @notice Public inputs of `epoch`'s proof, [root, nonce, indices...]; reverts until the challenge is revealed.
    function publicInputs(uint256 id, uint32 epoch) external view returns (uint256[] memory) {
        Epoch storage e = _epoch(id, _deal(id), epoch);
        require(e.revealedAt != 0, "epoch not revealed");
        return _publicInputs(e);
    }

    // ---------------------------------------------------------------- deal lifecycle

    /// @notice Open a deal `terms.worker` offered: one challenge commitment per epoch; the deposit (msg.value) is the
    ///         payment, split evenly across the epochs. `signature` is the worker's EIP-712 signature (an EOA's, or an
    ///         ERC-1271 wallet's) of `offerDigest(msg.sender, terms, commitments, nonce)`; each nonce opens one deal.
    /// @return id the new deal id (ids start at 1)
    function open(Terms calldata terms, bytes32[] calldata commitments, uint256 nonce, bytes calldata signature)
        external
        payable
        returns (uint256 id)
    {
        uint256 n = commitments.length;
        _checkTerms(terms, n);
        require(msg.value > 0 && msg.value % n == 0, "deposit must split evenly across epochs");
        require(msg.value / n == terms.paymentPerEpoch, "deposit must be paymentPerEpoch times the epochs");
        require(
            SignatureChecker.isValidSignatureNow(
                terms.worker, offerDigest(msg.sender, terms, commitments, nonce), signature
            ),
            "the worker did not sign this offer"
        );
        require(!offerUsed[terms.worker][nonce], "offer nonce already used");
        offerUsed[terms.worker][nonce] = true;
        address verifier = registry.verifiers(terms.vkHash);
        require(verifier != address(0), "no verifier registered for this key");
        require(Groth16Call.answersProbe(verifier, uint256(terms.k) + 2), "the verifier does not take k + 2 inputs");

        id = ++dealCount;
        Deal storage d = deals[id];
        d.client = msg.sender;
        d.state = DealState.Offered;
        d.verifier = verifier;
        d.binding = bindingOf(msg.sender, terms.worker, nonce, terms.content);
        d.offerNonce = nonce;
        d.terms = terms;
        for (uint256 i = 0; i < n; i++) {
            epochData[id][i].commitment = commitments[i];
        }
        emit DealOpened(id, msg.sender, terms.worker, verifier, terms);
    }

    /// @notice Withdraw an offer nobody has accepted yet; the whole deposit is credited back to the client.
    function cancel(uint256 id) external {
        Deal storage d = _deal(id);
        require(msg.sender == d.client, "only the deal's client");
        require(d.state == DealState.Offered, "deal is not an open offer");
        d.state = DealState.Cancelled;
        uint256 refund = d.terms.paymentPerEpoch * d.terms.epochs;
        owed[d.client] += refund;
        emit DealCancelled(id, d.client, refund);
    }

    /// @notice The named worker takes the deal, posting collateralPerEpoch × epochs; the epoch clock starts now.
    function accept(uint256 id) external payable {
        Deal storage d = _deal(id);
        require(msg.sender == d.terms.worker, "only the deal's named worker");
        require(d.state == DealState.Offered, "deal is not an open offer");
        require(block.timestamp <= d.terms.acceptBy, "offer expired");
        uint256 collateral = d.terms.collateralPerEpoch * d.terms.epochs;
        require(msg.value == collateral, "collateral must be collateralPerEpoch times the epochs");
        d.state = DealState.Active;
        d.start = uint64(block.timestamp);
        emit DealAccepted(id, msg.sender, d.start, collateral);
    }

    /// @notice Reveal `epoch`'s challenge inside its reveal window: it must open the commitment given at `open`.
    /// @dev A challenge that opens its commitment but could never be proven (indices, root) pays the worker at once:
    ///      the client committed to it.
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
        require(msg.sender == d.client, "only the deal's client");
        require(e.state == EpochState.Pending, "epoch already revealed or settled");
        (uint64 opens, uint64 closes) = _revealWindow(d, epoch);
        require(block.timestamp >= opens, "reveal window not open yet");
        require(block.timestamp <= closes, "reveal window closed: settle pays the worker");
        require(
            _challengeHash(d.binding, epoch, x, y, size, root, salt, indices) == e.commitment,
            "reveal does not match the committed challenge"
        );
        if (!_wellFormed(d, x, y, size, root, indices)) {
            _payWorker(id, d, e, epoch, 2);
            return;
        }
        e.x = x;
        e.y = y;
        e.size = size;
        e.root = root;
        e.nonce = nonceOf(id, epoch);
        e.indices = indices;
        e.revealedAt = uint64(block.timestamp);
        e.state = EpochState.Revealed;
        emit ChallengeRevealed(
            id, epoch, x, y, size, root, e.nonce, indices, uint64(block.timestamp) + d.terms.proofWindow
        );
    }

    /// @notice Prove `epoch`'s revealed challenge inside its proof window and be paid for the epoch.
    function submit(uint256 id, uint32 epoch, uint256[12] calldata proof) external {
        Deal storage d = _deal(id);
        require(msg.sender == d.terms.worker, "only the deal's worker");
        Epoch storage e = _epoch(id, d, epoch);
        require(e.state != EpochState.Pending, "epoch not revealed");
        require(e.state == EpochState.Revealed, "epoch already settled");
        require(block.timestamp <= e.revealedAt + d.terms.proofWindow, "proof window closed");
        require(Groth16Call.verify(d.verifier, proof, _publicInputs(e)), "proof does not verify");
        _payWorker(id, d, e, epoch, 0);
    }

    /// @notice Settle an epoch whose window has passed; anyone may call it. Never revealed by the end of its reveal
    ///         window: the worker is paid. Revealed but not proven by the end of its proof window: the client gets its
    ///         payment back and the epoch's collateral is burned. It never goes to the client: a client that revealed
    ///         a root the agreed content does not have would profit from it, and the chain cannot yet tell that
    ///         client from an honest one facing a worker who lost the segment (docs/chain.md §4).
    function settle(uint256 id, uint32 epoch) external {
        Deal storage d = _started(id);
        Epoch storage e = _epoch(id, d, epoch);
        require(d.state == DealState.Active || epoch < d.endEpoch, "epoch cancelled by the worker's exit");
        if (e.state == EpochState.Pending) {
            (, uint64 closes) = _revealWindow(d, epoch);
            require(block.timestamp > closes, "reveal window still open");
            _payWorker(id, d, e, epoch, 1);
        } else if (e.state == EpochState.Revealed) {
            require(block.timestamp > e.revealedAt + d.terms.proofWindow, "proof window still open");
            e.state = EpochState.Refunded;
            uint256 amount = d.terms.paymentPerEpoch;
            owed[d.client] += amount;
            burned += d.terms.collateralPerEpoch;
            emit EpochRefunded(id, epoch, d.client, amount, d.terms.collateralPerEpoch);
        } else {
            revert("epoch already settled");
        }
    }

    /// @notice The worker ends the deal after `epoch` was revealed and not proven (still in its proof window, or
    ///         already settled as refunded): every epoch whose reveal window has not closed and that is not revealed
    ///         is cancelled — its payment credited back to the client, its collateral to the worker. Epochs before
    ///         that settle as usual (`submit`, `settle`). So a worker facing a reveal it cannot prove (say a root the
    ///         agreed content does not have) loses that epoch's collateral and nothing more.
    function exit(uint256 id, uint32 epoch) external {
        Deal storage d = _accepted(id);
        require(msg.sender == d.terms.worker, "only the deal's worker");
        EpochState s = _epoch(id, d, epoch).state;
        require(
            s == EpochState.Revealed || s == EpochState.Refunded, "exit needs a revealed epoch the worker did not prove"
        );
        uint32 epochs = d.terms.epochs;
        // Only the current epoch can be inside its reveal window (revealWindow <= epochSeconds): earlier ones are
        // past it, later ones not open. From the first epoch whose window has not closed and that is still pending,
        // every epoch is cancelled.
        uint256 current = (block.timestamp - d.start) / d.terms.epochSeconds;
        uint32 from = uint32(current < epochs ? current : epochs);
        if (from < epochs) {
            (, uint64 closes) = _revealWindow(d, from);
            if (block.timestamp > closes || epochData[id][from].state != EpochState.Pending) {
                from++;
            }
        }
        d.state = DealState.Exited;
        d.endEpoch = from;
        uint256 n = epochs - from;
        uint256 refund = d.terms.paymentPerEpoch * n;
        uint256 returned = d.terms.collateralPerEpoch * n;
        owed[d.client] += refund;
        owed[d.terms.worker] += returned;
        emit DealExited(id, from, refund, returned);
    }

    /// @notice Send the sender everything it is owed.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        require(amount > 0, "nothing to withdraw");
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        require(ok, "transfer failed");
    }

    // ---------------------------------------------------------------- internals

    function _deal(uint256 id) private view returns (Deal storage d) {
        d = deals[id];
        require(d.state != DealState.None, "no such deal");
    }

    function _accepted(uint256 id) private view returns (Deal storage d) {
        d = _deal(id);
        require(d.state == DealState.Active, "deal not accepted");
    }

    /// @dev A deal that was accepted: active, or ended by the worker's exit (its epochs before `endEpoch` still settle).
    function _started(uint256 id) private view returns (Deal storage d) {
        d = _deal(id);
        require(d.state == DealState.Active || d.state == DealState.Exited, "deal not accepted");
    }

    function _epoch(uint256 id, Deal storage d, uint32 epoch) private view returns (Epoch storage) {
        require(epoch < d.terms.epochs, "no such epoch");
        return epochData[id][epoch];
    }

    /// @dev Every bound that keeps the deal provable and its deadlines finite. With these bounds the latest deadline,
    ///      start + MAX_EPOCHS · MAX_EPOCH_SECONDS + MAX_EPOCH_SECONDS, stays below 2^36 seconds from now.
    function _checkTerms(Terms calldata t, uint256 n) private view {
        require(n > 0 && n <= MAX_EPOCHS, "between 1 and MAX_EPOCHS epochs");
        require(t.epochs == n, "epochs must equal the number of commitments");
        require(t.worker != address(0) && t.worker != msg.sender, "name a worker other than the client");
        require(t.frames > 0 && t.frames <= MAX_FRAMES, "frames out of range");
        require(t.content != bytes32(0) && t.size > 0, "name the segment's content commitment and size");
        require(t.pixelFormat >= 1 && t.pixelFormat <= 4, "unknown pixel format");
        require(t.width >= REGION_STEP && t.height >= REGION_STEP, "frames are smaller than a region");
        require(t.k > 0 && t.k <= t.frames && t.k <= MAX_K, "k must be between 1 and min(frames, MAX_K)");
        require(t.depth == _depthOf(t.frames), "depth must be ceil(log2(frames))");
        require(t.epochSeconds > 0 && t.epochSeconds <= MAX_EPOCH_SECONDS, "epochSeconds out of range");
        require(t.revealWindow > 0 && t.revealWindow <= t.epochSeconds, "revealWindow must be within an epoch");
        require(
            t.proofWindow >= minProofWindow && t.proofWindow <= MAX_EPOCH_SECONDS,
            "proofWindow must be between minProofWindow and MAX_EPOCH_SECONDS"
        );
        require(t.acceptBy >= block.timestamp && t.acceptBy <= block.timestamp + MAX_OFFER_SECONDS, "acceptBy out of range");
    }

    function _depthOf(uint32 frames) private pure returns (uint32 d) {
        while ((uint256(1) << d) < frames) {
            d++;
        }
    }

    function _revealWindow(Deal storage d, uint32 epoch) private view returns (uint64 opens, uint64 closes) {
        opens = d.start + uint64(epoch) * d.terms.epochSeconds;
        closes = opens + d.terms.revealWindow;
    }

    /// @dev Whether a revealed challenge could be proven at all: a region inside the frame of a size the pHash takes,
    ///      a root in the field, k indices below the frame count (so below 2^depth).
    function _wellFormed(Deal storage d, uint32 x, uint32 y, uint32 size, bytes32 root, uint32[] calldata indices)
        private
        view
        returns (bool)
    {
        bool region = size >= REGION_STEP && size <= MAX_REGION && size % REGION_STEP == 0
            && uint256(x) + size <= d.terms.width && uint256(y) + size <= d.terms.height;
        if (!region || uint256(root) >= R || indices.length != d.terms.k) {
            return false;
        }
        uint32 frames = d.terms.frames;
        for (uint256 i = 0; i < indices.length; i++) {
            if (indices[i] >= frames) {
                return false;
            }
        }
        return true;
    }

    /// @dev Credits the worker the epoch's payment and returns its collateral. `reason` as in `EpochPaid`.
    function _payWorker(uint256 id, Deal storage d, Epoch storage e, uint32 epoch, uint8 reason) private {
        e.state = EpochState.Paid;
        uint256 amount = d.terms.paymentPerEpoch + d.terms.collateralPerEpoch;
        owed[d.terms.worker] += amount;
        emit EpochPaid(id, epoch, d.terms.worker, amount, reason);
    }

    /// @dev sha256(CHALLENGE_DOMAIN ‖ binding ‖ epoch ‖ x ‖ y ‖ size ‖ root ‖ salt ‖ indices...), every value a
    ///      32-byte word.
    function _challengeHash(
        bytes32 binding,
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
                CHALLENGE_DOMAIN, binding, uint256(epoch), uint256(x), uint256(y), uint256(size), root, salt, words
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
}
