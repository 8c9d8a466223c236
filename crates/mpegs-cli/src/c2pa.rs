//! `mpegs c2pa`: Content Credentials that carry the proof bundle (docs/c2pa.md).
//!
//! `sign` verifies the bundle against the image first (nothing unverified is
//! signed), then embeds the manifest; `cert` makes an untrusted test PKI; `read`
//! shows any file's manifest, ours or not. `mpegs verify FILE` checks an embedded
//! manifest by itself (see [`verify_embedded`]).

use anyhow::{Context, Result};
use clap::Subcommand;
use mpegs_c2pa::{cert, read_file};
use mpegs_media::load_image;
use mpegs_provenance::verify::verify_private_media;
use mpegs_provenance::{sidecar_path, Bundle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum C2paAction {
    /// Embed a signed C2PA manifest carrying the image's proof bundle.
    Sign {
        image: PathBuf,
        /// Certificate chain, PEM, the signer's certificate first.
        #[arg(long)]
        cert: PathBuf,
        /// The signer's private key, PKCS#8 PEM (ES256).
        #[arg(long)]
        key: PathBuf,
        /// Bundle (default: <image>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// The input's secret, for private media (default: <image>.mpegs.secret.json).
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Output (default: <stem>.c2pa.<ext> beside the image).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write an UNTRUSTED test CA and ES256 signer (ca.pem, chain.pem, signer.key).
    Cert {
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Show a file's C2PA manifest and its validation (exit 1 if it does not validate).
    Read {
        file: PathBuf,
        /// PEM roots to trust (default: none; every signer is reported untrusted).
        #[arg(long)]
        trust: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(
    action: C2paAction,
    store: impl Fn() -> Result<mpegs_zk::keys::KeyStore>,
) -> Result<ExitCode> {
    match action {
        C2paAction::Sign {
            image,
            cert,
            key,
            bundle,
            secret,
            output,
        } => sign(&image, &cert, &key, bundle, secret, output, &store()?),
        C2paAction::Cert { output } => {
            let files = cert::write_test_pki(&output)?;
            println!(
                "UNTRUSTED test PKI (for demos; on no trust list): CA {}, chain {}, key {} (mode 0600)",
                files.ca.display(),
                files.chain.display(),
                files.key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        C2paAction::Read { file, trust, json } => read(&file, trust, json),
    }
}

fn default_output(image: &Path) -> PathBuf {
    let stem = image
        .file_stem()
        .map_or("out".into(), |s| s.to_string_lossy().into_owned());
    let ext = image
        .extension()
        .map_or("png".into(), |e| e.to_string_lossy().into_owned());
    image.with_file_name(format!("{stem}.c2pa.{ext}"))
}

fn sign(
    image: &Path,
    cert: &Path,
    key: &Path,
    bundle: Option<PathBuf>,
    secret: Option<PathBuf>,
    output: Option<PathBuf>,
    store: &mpegs_zk::keys::KeyStore,
) -> Result<ExitCode> {
    let bundle = Bundle::load(&bundle.unwrap_or_else(|| sidecar_path(image)))?;
    let frame = load_image(image)?;
    let seed = crate::input_seed(image, &bundle, secret)?;
    // Never sign a history that does not verify here first.
    let report = verify_private_media(&frame, &bundle, seed.as_ref(), store);
    if !report.valid {
        eprintln!(
            "rejected: not signed: the bundle does not verify here: {}",
            report.reason.unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }
    let chain = std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    let key_pem = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
    let bytes = read_file(image)?;
    let out = output.unwrap_or_else(|| default_output(image));
    let title = out
        .file_name()
        .map_or("mpegs output".into(), |n| n.to_string_lossy().into_owned());
    let signed = mpegs_c2pa::sign(&bytes, &bundle, &chain, &key_pem, &title)?;
    mpegs_media::write_atomic(&out, &signed)?;
    let steps = bundle.edit.as_ref().map_or(0, |e| e.steps.len());
    println!(
        "{} → {}: Content Credentials with the bundle ({steps} proven step(s)), signed ES256",
        image.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn anchors(trust: Option<PathBuf>) -> Result<Option<String>> {
    trust
        .map(|p| {
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
        })
        .transpose()
}

fn print_c2pa(r: &mpegs_c2pa::C2paReport) {
    println!(
        "C2PA manifest by {} (signer {}): {}",
        r.generator.as_deref().unwrap_or("an unnamed tool"),
        r.signer.as_deref().unwrap_or("?"),
        if r.valid {
            "signature and hard binding valid"
        } else {
            "INVALID"
        }
    );
    for f in &r.failures {
        println!("  failure: {f}");
    }
    for w in &r.warnings {
        println!("  warning: {w} (the signer is on no trust list given; not a failure)");
    }
    for a in &r.actions {
        println!("  action: {a}");
    }
    if !r.has_mpegs {
        println!("  no mpegs proof in this manifest: its claims are not proven");
    }
}

fn read(file: &Path, trust: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let bytes = read_file(file)?;
    let Some(report) = mpegs_c2pa::read(&bytes, anchors(trust)?.as_deref())? else {
        println!("{}: no C2PA manifest", file.display());
        return Ok(ExitCode::from(1));
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_c2pa(&report);
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `mpegs verify FILE` for a file that carries Content Credentials: `None` if it
/// carries none (the caller falls back to the sidecar bundle).
pub fn verify_embedded(
    image: &Path,
    secret: Option<PathBuf>,
    trust: Option<PathBuf>,
    json: bool,
    store: &mpegs_zk::keys::KeyStore,
) -> Result<Option<ExitCode>> {
    let bytes = read_file(image)?;
    if mpegs_c2pa::format_of(&bytes).is_err() {
        return Ok(None);
    }
    let frame = load_image(image)?;
    let anchors = anchors(trust)?;
    let Some(c2pa) = mpegs_c2pa::read(&bytes, anchors.as_deref())? else {
        return Ok(None);
    };
    // The seed of private media comes from the secret file; a published output
    // reveals its own in the bundle.
    let seed = match &c2pa.bundle {
        Some(Ok(b)) => crate::input_seed(image, b, secret)?,
        _ => None,
    };
    let verdict = mpegs_c2pa::judge(c2pa, &frame, seed.as_ref(), store);
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    } else {
        print_c2pa(&verdict.c2pa);
        if let Some(report) = &verdict.mpegs {
            print!(
                "{}",
                crate::report::render(&image.display().to_string(), report)
            );
        }
        match &verdict.reason {
            None => println!("VALID: Content Credentials and mpegs proofs both verify"),
            Some(reason) => println!("INVALID: {reason}"),
        }
    }
    Ok(Some(if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }))
}
