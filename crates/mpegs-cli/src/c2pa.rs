//! `mpegs c2pa`: Content Credentials that carry the proof bundle (docs/c2pa.md).
//!
//! `sign` (`mpegs_app::c2pa::sign`) verifies the bundle against the image first
//! (nothing unverified is signed), then embeds the manifest; `cert` makes an
//! untrusted test PKI; `read` shows any file's manifest, ours or not. `mpegs
//! verify FILE` checks an embedded manifest by itself ([`print_verdict`] shows it).

use anyhow::Result;
use clap::Subcommand;
use mpegs_app::c2pa::SignFiles;
use mpegs_c2pa::{cert, read_file};
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

pub fn run(action: C2paAction) -> Result<ExitCode> {
    match action {
        C2paAction::Sign {
            image,
            cert,
            key,
            bundle,
            secret,
            output,
        } => {
            let files = SignFiles {
                image,
                cert,
                key,
                bundle,
                secret,
                output,
            };
            let s = mpegs_app::c2pa::sign(&files, &crate::store()?)?;
            println!(
                "{} → {}: Content Credentials with the bundle ({} proven step(s)), signed ES256",
                s.image.display(),
                s.output.display(),
                s.steps
            );
            Ok(ExitCode::SUCCESS)
        }
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
    let anchors = mpegs_app::verify::read_anchors(trust.as_deref())?;
    let Some(report) = mpegs_c2pa::read(&bytes, anchors.as_deref())? else {
        println!("{}: no C2PA manifest", file.display());
        return Ok(ExitCode::from(1));
    };
    if json {
        crate::print_json(&report)?;
    } else {
        print_c2pa(&report);
    }
    Ok(crate::verdict(report.valid))
}

/// `mpegs verify FILE` of a file with Content Credentials: both verdicts.
pub fn print_verdict(name: &str, verdict: &mpegs_c2pa::Verdict) {
    print_c2pa(&verdict.c2pa);
    if let Some(report) = &verdict.mpegs {
        print!("{}", crate::report::render(name, report));
    }
    match &verdict.reason {
        None => println!("VALID: Content Credentials and mpegs proofs both verify"),
        Some(reason) => println!("INVALID: {reason}"),
    }
}
