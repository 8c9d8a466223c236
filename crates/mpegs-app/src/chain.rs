//! On-chain use cases: the chain session (which chain, as whom), deployment,
//! registration of a history that verifies here, its status and revocation.

use crate::{AppError, Config};
use mpegs_chain::accounts::{select_signer, KeySource};
use mpegs_chain::alloy_primitives::{utils::parse_units, Address, B256, U256};
use mpegs_chain::deployment::Deployment;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::registry::{self, StatusEntry};
use mpegs_chain::rpc::Rpc;
use mpegs_chain::Chain;
use mpegs_media::{load_image, Commitment};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::{sidecar_path, Bundle};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use mpegs_chain::registry::Mode;

/// Chain id of development nodes (Hardhat, Anvil) and the embedded EVM.
pub const DEV_CHAIN_ID: u64 = mpegs_chain::deployment::DEV_CHAIN_ID;

/// An opened chain and where its deployment file lives.
pub struct Session {
    pub chain: Box<dyn Chain>,
    pub deployment_path: PathBuf,
}

impl Session {
    /// Opens the chain `config.chain` names: the embedded EVM (state in
    /// `<home>/chain/embedded.json` unless given; waits while another process
    /// has it open) or a JSON-RPC node. Signing-key policy: a key file wins
    /// over the key itself, a development account conflicts with either, and
    /// development accounts are refused on any chain but a development one.
    pub fn open(config: &Config) -> Result<Self, AppError> {
        let s = &config.chain;
        let (signer, source) = select_signer(s.key_file.as_deref(), s.key.as_deref(), s.account)?;
        let explicit_key = source == KeySource::Explicit;
        match &s.rpc_url {
            None => {
                let state = s
                    .state
                    .clone()
                    .unwrap_or_else(|| config.chain_dir().join("embedded.json"));
                let chain = Embedded::open(&state, signer)?;
                let deployment_path = s
                    .deployment
                    .clone()
                    .unwrap_or_else(|| state.with_extension("deployment.json"));
                Ok(Self::new(Box::new(chain), deployment_path))
            }
            Some(url) => {
                let chain = Rpc::connect(url, signer)?;
                if chain.chain_id() != DEV_CHAIN_ID && !explicit_key {
                    return Err(AppError::Input(format!(
                        "chain {} is not a development chain: give a key with --key-file or MPEGS_CHAIN_KEY",
                        chain.chain_id()
                    )));
                }
                let deployment_path = s.deployment.clone().unwrap_or_else(|| {
                    config
                        .chain_dir()
                        .join(format!("chain-{}.deployment.json", chain.chain_id()))
                });
                Ok(Self::new(Box::new(chain), deployment_path))
            }
        }
    }

    /// A session over any chain (tests, other backends).
    pub fn new(chain: Box<dyn Chain>, deployment_path: PathBuf) -> Self {
        Self {
            chain,
            deployment_path,
        }
    }

    /// The deployment on this chain, checked against the chain itself.
    pub fn deployment(&mut self) -> Result<Deployment, AppError> {
        let d = Deployment::load(&self.deployment_path)?;
        d.check(self.chain.as_mut())?;
        Ok(d)
    }
}

/// What `deploy` did.
#[derive(Clone, Debug, Serialize)]
pub struct Deployed {
    pub deployment: Deployment,
    pub path: PathBuf,
    /// False when a deployment already existed (and `force` was not given).
    pub new: bool,
}

/// Deploys MediaRegistry and StorageEscrow (the sender owns the registry),
/// unless they are deployed already and `force` is false.
pub fn deploy(session: &mut Session, force: bool) -> Result<Deployed, AppError> {
    if !force {
        if let Ok(d) = session.deployment() {
            return Ok(Deployed {
                deployment: d,
                path: session.deployment_path.clone(),
                new: false,
            });
        }
    }
    let d = mpegs_chain::deployment::deploy(session.chain.as_mut())?;
    d.save(&session.deployment_path)?;
    Ok(Deployed {
        deployment: d,
        path: session.deployment_path.clone(),
        new: true,
    })
}

/// A bundle that verified here against its media: the only kind
/// [`register_verified`] sends.
pub struct VerifiedBundle {
    bundle: Bundle,
}

impl VerifiedBundle {
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }
}

/// Verifies `media` against its bundle (default `<media>.mpegs.json`) before
/// anything is sent; a history that does not verify is a rejection.
pub fn verify_for_registration(
    media: &Path,
    bundle: Option<&Path>,
    store: &KeyStore,
) -> Result<VerifiedBundle, AppError> {
    let bundle_path = bundle.map_or_else(|| sidecar_path(media), Path::to_path_buf);
    let bundle = Bundle::load(&bundle_path)?;
    let frame = load_image(media)?;
    let seed = crate::input::input_seed(media, &bundle, None)?;
    let report = crate::verify::verify_frame(&frame, &bundle, seed.as_ref(), store);
    if !report.valid {
        return Err(AppError::Rejected(format!(
            "not sent: the bundle does not verify here: {}",
            report.reason.unwrap_or_default()
        )));
    }
    Ok(VerifiedBundle { bundle })
}

/// One item of a registered history.
#[derive(Clone, Debug, Serialize)]
pub struct RegisteredItem {
    pub commitment: B256,
    /// `original`, `edit`, `anchored` or `already registered (<kind>)`.
    pub outcome: String,
    pub gas_used: u64,
    pub proofs: usize,
}

/// What `register` did, oldest item first.
#[derive(Clone, Debug, Serialize)]
pub struct Registration {
    pub chain_id: u64,
    pub items: Vec<RegisteredItem>,
}

/// Registers a verified history and every ancestor not yet registered:
/// originals by device signature, edits with every proof verified on-chain
/// (new circuits get verifiers deployed first), or only anchored with
/// [`Mode::Anchor`]. The deployment file is saved even when a later item fails.
/// An item the chain holds with other facts than the bundle's (device, kind,
/// parent, statement) is a rejection naming the difference; one it holds as the
/// bundle says is "already registered", with its registrant when that is
/// another account (a registrant has no power over a record).
pub fn register_verified(
    session: &mut Session,
    verified: &VerifiedBundle,
    mode: Mode,
    store: &KeyStore,
) -> Result<Registration, AppError> {
    let mut d = session.deployment()?;
    let result = registry::register(
        session.chain.as_mut(),
        &mut d,
        store,
        &verified.bundle,
        mode,
    );
    d.save(&session.deployment_path)?;
    let done = result?;
    if let Some(conflict) = done.iter().find_map(|r| r.conflict.clone()) {
        return Err(AppError::Rejected(format!(
            "{conflict}; `mpegs chain status` shows the record"
        )));
    }
    let items = done
        .into_iter()
        .map(|r| RegisteredItem {
            commitment: r.commitment,
            outcome: r.outcome,
            gas_used: r.gas_used,
            proofs: r.proofs,
        })
        .collect();
    Ok(Registration {
        chain_id: d.chain_id,
        items,
    })
}

/// [`verify_for_registration`], then [`register_verified`]: nothing reaches
/// the chain unless it verifies here first.
pub fn register(
    session: &mut Session,
    media: &Path,
    bundle: Option<&Path>,
    mode: Mode,
    store: &KeyStore,
) -> Result<Registration, AppError> {
    let verified = verify_for_registration(media, bundle, store)?;
    register_verified(session, &verified, mode, store)
}

/// The commitment a `status`/`revoke` target names — `0x…` or a media file
/// (with its bundle, default `<media>.mpegs.json`) — and the device its bundle
/// claims (lowercase), for a media file. Verified records are keyed by
/// (commitment, device), so that device is where its records are looked up.
pub fn target_commitment(
    target: &str,
    bundle: Option<&Path>,
) -> Result<(B256, Option<String>), AppError> {
    if target.starts_with("0x") && !Path::new(target).exists() {
        let c = target
            .parse::<B256>()
            .map_err(|_| AppError::Input(format!("{target:?} is not a 32-byte 0x… commitment")))?;
        return Ok((c, None));
    }
    let media = Path::new(target);
    let bundle = Bundle::load(&bundle.map_or_else(|| sidecar_path(media), Path::to_path_buf))?;
    let frame = load_image(media)?;
    let seed = crate::input::input_seed(media, &bundle, None)?.ok_or_else(|| {
        AppError::Input(format!(
            "{} keeps its media private: its secret file is needed to recompute the commitment",
            media.display()
        ))
    })?;
    let c = Commitment::of_frame(&frame, bundle.media.header.tile, &seed)?;
    let hex = mpegs_media::poseidon::fr_to_hex(&c.value);
    let device = bundle
        .origin()
        .attestation
        .as_ref()
        .map(|a| a.device.to_lowercase());
    let word = hex
        .parse::<B256>()
        .map_err(|e| AppError::Input(format!("commitment {hex}: {e}")))?;
    Ok((word, device))
}

/// A revoked record in a history.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RevokedRecord {
    pub commitment: B256,
    pub at: u64,
}

/// The chain's device differs from the bundle's.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeviceMismatch {
    pub recorded: Address,
    pub claimed: String,
}

/// The on-chain provenance of a commitment: valid when it is registered,
/// nothing in its history is revoked, and the recorded device is the one its
/// bundle names (for a media file).
#[derive(Clone, Debug, Serialize)]
pub struct ChainStatus {
    pub valid: bool,
    /// Why not, first reason first (absent when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub commitment: B256,
    pub chain_id: u64,
    /// The record and its ancestors, newest first (empty: not registered).
    pub entries: Vec<StatusEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevokedRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_mismatch: Option<DeviceMismatch>,
}

/// `mpegs chain status`: the history of `target` as recorded under `device`
/// (default: the device its bundle names; a bare commitment needs it given).
/// Where no verified record exists, `anchored_by`'s anchor (default: the
/// session's account) is shown.
pub fn status(
    session: &mut Session,
    target: &str,
    bundle: Option<&Path>,
    device: Option<&str>,
    anchored_by: Option<&str>,
) -> Result<ChainStatus, AppError> {
    let (commitment, claimed_device) = target_commitment(target, bundle)?;
    let anchorer = match anchored_by {
        Some(a) => parse_address(a, "--anchored-by")?,
        None => session.chain.sender(),
    };
    let given = device.map(|d| parse_address(d, "--device")).transpose()?;
    let claimed = claimed_device
        .as_deref()
        .map(|d| parse_address(d, "the bundle's device"))
        .transpose()?;
    let lookup = given.or(claimed);
    let d = session.deployment()?;
    let entries = registry::status(session.chain.as_mut(), &d, commitment, lookup, anchorer)?;
    let revoked = entries.iter().find_map(|e| {
        e.revoked_at.map(|at| RevokedRecord {
            commitment: e.revoked_via.unwrap_or(e.commitment),
            at,
        })
    });
    let device_mismatch = match (given, claimed) {
        (Some(given), Some(claimed)) if given != claimed => Some(DeviceMismatch {
            recorded: given,
            claimed: format!("{claimed:#x}"),
        }),
        _ => None,
    };
    let reason = if entries.is_empty() {
        Some(match lookup {
            Some(dev) => format!(
                "not registered on chain {} as captured by device {dev:#x} (records are kept per \
                 device: one under another device is not this history)",
                d.chain_id
            ),
            None => format!(
                "no anchor by {anchorer:#x} on chain {}; verified records are kept per device: \
                 give --device ADDRESS (or a media file whose bundle names it)",
                d.chain_id
            ),
        })
    } else if let Some(r) = &revoked {
        Some(format!(
            "{} was revoked by its device at {}; do not rely on this history",
            r.commitment, r.at
        ))
    } else {
        device_mismatch.as_ref().map(|m| {
            format!(
                "asked about device {:#x}, the bundle names {}",
                m.recorded, m.claimed
            )
        })
    };
    Ok(ChainStatus {
        valid: reason.is_none(),
        reason,
        commitment,
        chain_id: d.chain_id,
        entries,
        revoked,
        device_mismatch,
    })
}

/// What `revoke` did.
#[derive(Clone, Debug, Serialize)]
pub struct Revocation {
    pub commitment: B256,
    pub gas_used: u64,
}

/// Revokes a record of the device's history (its original or an edit on it):
/// as the device's own account, or with `device_key` (a signature valid for
/// `valid_for` seconds, relayed by the session's account). Nobody else can:
/// registrants have no power over records.
pub fn revoke(
    session: &mut Session,
    target: &str,
    bundle: Option<&Path>,
    reason: &str,
    device_key: Option<&Path>,
    valid_for: u64,
) -> Result<Revocation, AppError> {
    let (commitment, _) = target_commitment(target, bundle)?;
    let d = session.deployment()?;
    let chain = session.chain.as_mut();
    let gas_used = match device_key {
        Some(path) => {
            let key = DeviceKey::load(path)?;
            let deadline = chain.timestamp()?.max(crate::input::unix_now()) + valid_for;
            registry::revoke_by_device(chain, &d, commitment, reason, deadline, &key)?
        }
        None => registry::revoke(chain, &d, commitment, reason)?,
    };
    Ok(Revocation {
        commitment,
        gas_used,
    })
}

/// A `0x…` address; `what` names it in the error.
pub fn parse_address(text: &str, what: &str) -> Result<Address, AppError> {
    text.parse::<Address>()
        .map_err(|_| AppError::Input(format!("{what} {text:?} is not a 0x… address")))
}

/// `3ether`, `1.5ether`, `20gwei`, `1000wei` or plain wei.
pub fn parse_amount(text: &str) -> Result<U256, AppError> {
    let t = text.trim();
    let (number, decimals) = if let Some(n) = t.strip_suffix("ether") {
        (n, 18)
    } else if let Some(n) = t.strip_suffix("gwei") {
        (n, 9)
    } else if let Some(n) = t.strip_suffix("wei") {
        (n, 0)
    } else {
        (t, 0)
    };
    let number = number.trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let bad = || {
        AppError::Input(format!(
            "{text:?} is not an amount (e.g. 3ether, 1.5ether, 20gwei, 1000)"
        ))
    };
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > decimals {
        return Err(bad());
    }
    let value = parse_units(number, decimals as u8).map_err(|_| bad())?;
    Ok(value.get_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{tampered_original, Original};
    use mpegs_chain::alloy_primitives::Bytes;
    use mpegs_chain::{ChainError, PrivateKeySigner, Receipt};

    /// A chain that fails the test on any use.
    struct Untouchable;

    impl Chain for Untouchable {
        fn sender(&self) -> Address {
            panic!("the chain was touched")
        }
        fn set_signer(&mut self, _: PrivateKeySigner) {
            panic!("the chain was touched")
        }
        fn chain_id(&self) -> u64 {
            panic!("the chain was touched")
        }
        fn send(&mut self, _: Option<Address>, _: Bytes, _: U256) -> Result<Receipt, ChainError> {
            panic!("the chain was touched")
        }
        fn call(&mut self, _: Address, _: Bytes) -> Result<Bytes, ChainError> {
            panic!("the chain was touched")
        }
        fn timestamp(&mut self) -> Result<u64, ChainError> {
            panic!("the chain was touched")
        }
        fn advance_time(&mut self, _: u64) -> Result<(), ChainError> {
            panic!("the chain was touched")
        }
        fn balance(&mut self, _: Address) -> Result<U256, ChainError> {
            panic!("the chain was touched")
        }
        fn has_code(&mut self, _: Address) -> Result<bool, ChainError> {
            panic!("the chain was touched")
        }
    }

    #[test]
    fn register_refuses_an_invalid_bundle_before_touching_the_chain() {
        let Original {
            dir,
            store,
            image,
            bundle,
        } = tampered_original();
        let deployment = dir.path().join("deployment.json");
        let mut session = Session::new(Box::new(Untouchable), deployment.clone());
        let e = register(&mut session, &image, Some(&bundle), Mode::Auto, &store).unwrap_err();
        assert!(e.is_rejection(), "{e}");
        assert!(e.to_string().contains("does not verify"), "{e}");
        assert!(!deployment.exists());
    }

    /// A record under the bundle's key with other facts is a rejection (exit 1),
    /// not "already registered"; the same facts registered again are success.
    #[test]
    fn register_rejects_a_record_with_other_facts() {
        let o = crate::testing::original(true);
        let chain = mpegs_chain::embedded::Embedded::in_memory(
            mpegs_chain::accounts::dev_signer(0).unwrap(),
        );
        let mut session = Session::new(Box::new(chain), o.dir.path().join("deployment.json"));
        deploy(&mut session, false).unwrap();
        let verified = verify_for_registration(&o.image, Some(&o.bundle), &o.store).unwrap();
        let done = register_verified(&mut session, &verified, Mode::Auto, &o.store).unwrap();
        assert_eq!(done.items[0].outcome, "original");
        let again = register_verified(&mut session, &verified, Mode::Auto, &o.store).unwrap();
        assert_eq!(again.items[0].outcome, "already registered (original)");
        let mut bundle = verified.bundle.clone();
        bundle.attestation.as_mut().unwrap().device_id = "another".into();
        let other = VerifiedBundle { bundle };
        let e = register_verified(&mut session, &other, Mode::Auto, &o.store).unwrap_err();
        assert!(e.is_rejection(), "{e}");
        assert!(e.to_string().contains("not as this bundle says"), "{e}");
    }

    #[test]
    fn amounts_and_addresses_parse_or_are_input_errors() {
        assert_eq!(
            parse_amount("1.5ether").unwrap(),
            U256::from(15u64) * U256::from(10u64).pow(U256::from(17u64))
        );
        assert_eq!(
            parse_amount("20gwei").unwrap(),
            U256::from(20_000_000_000u64)
        );
        assert_eq!(parse_amount("1000").unwrap(), U256::from(1000u64));
        for bad in ["1.5parsecs", "", ".5ether", "1.0000000001gwei"] {
            assert!(
                matches!(parse_amount(bad), Err(AppError::Input(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_address("bob", "--worker"),
            Err(AppError::Input(_))
        ));
    }
}

/// The on-chain records of a history's items, as the explorer draws them
/// (verified records are looked up under each device the history names).
#[derive(Clone, Debug, Serialize)]
pub struct ChainRecords {
    pub chain_id: u64,
    pub registry: Address,
    /// Whose anchors are shown where an item has no verified record (the
    /// session's account, as `mpegs chain status` does).
    pub anchorer: Address,
    /// Every record of the items and their recorded ancestors, one per
    /// commitment, in the order first met.
    pub records: Vec<StatusEntry>,
}

/// The records the configured chain holds for `items` (commitments, `0x` hex)
/// and their recorded ancestors; `None` when no contracts are deployed there
/// (no deployment file), so a front end without a chain shows none. Read-only:
/// nothing is signed or sent, and an embedded chain's state file is never
/// created by looking.
pub fn records(
    config: &Config,
    items: &[String],
    devices: &[String],
) -> Result<Option<ChainRecords>, AppError> {
    let s = &config.chain;
    if s.rpc_url.is_none() {
        let state = s
            .state
            .clone()
            .unwrap_or_else(|| config.chain_dir().join("embedded.json"));
        let deployment = s
            .deployment
            .clone()
            .unwrap_or_else(|| state.with_extension("deployment.json"));
        if !state.exists() || !deployment.exists() {
            return Ok(None);
        }
    }
    let mut session = Session::open(config)?;
    if !session.deployment_path.exists() {
        return Ok(None);
    }
    let d = session.deployment()?;
    let anchorer = session.chain.sender();
    let devices = devices
        .iter()
        .map(|dev| parse_address(dev, "device"))
        .collect::<Result<Vec<_>, _>>()?;
    // Anchors only when the history names no device.
    let lookups: Vec<Option<Address>> = if devices.is_empty() {
        vec![None]
    } else {
        devices.into_iter().map(Some).collect()
    };
    let mut records: Vec<StatusEntry> = vec![];
    for item in items {
        let commitment = parse_commitment(item)?;
        if records.iter().any(|r| r.commitment == commitment) {
            continue;
        }
        for device in &lookups {
            let entries =
                registry::status(session.chain.as_mut(), &d, commitment, *device, anchorer)?;
            for entry in entries {
                if !records.iter().any(|r| r.commitment == entry.commitment) {
                    records.push(entry);
                }
            }
        }
    }
    Ok(Some(ChainRecords {
        chain_id: d.chain_id,
        registry: d.registry,
        anchorer,
        records,
    }))
}

fn parse_commitment(text: &str) -> Result<B256, AppError> {
    text.parse::<B256>()
        .map_err(|_| AppError::Input(format!("{text} is not a commitment (0x + 64 hex digits)")))
}
