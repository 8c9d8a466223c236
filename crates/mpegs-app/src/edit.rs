//! Edit: apply a filter chain to a media item whose history verifies, and prove
//! it — or, as a dry run, only apply it.
//!
//! The policy "never extend an unverified history" is a type: the proving and
//! preview entry points take a [`VerifiedParent`], which only
//! [`Parent::verify`] makes.

use crate::AppError;
use mpegs_filters::{parse_filtergraph, FilterChain};
use mpegs_media::{load_image, save_png_atomic, Frame, Seed};
use mpegs_provenance::prove::{blinding_seed, EditPlan, OsEntropy, Progress, Prover};
use mpegs_provenance::{secret_path, sidecar_path, Bundle};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The input of an edit: its pixels, its bundle and the seed of its commitment.
pub struct Parent {
    pub frame: Frame,
    pub bundle: Bundle,
    pub seed: Seed,
    /// Names the bundle in messages (its path, say).
    pub name: String,
}

/// A parent whose bundle verified against its pixels with this key store.
pub struct VerifiedParent(Parent);

impl Parent {
    /// Reads an image, its bundle (default `<image>.mpegs.json`) and its seed
    /// (revealed in the bundle, or from the secret file, default
    /// `<image>.mpegs.secret.json`).
    pub fn load(
        image: &Path,
        bundle: Option<&Path>,
        secret: Option<&Path>,
    ) -> Result<Self, AppError> {
        let frame = load_image(image)?;
        let bundle_path = bundle.map_or_else(|| sidecar_path(image), Path::to_path_buf);
        let parent = Bundle::load(&bundle_path)?;
        let seed = crate::input::input_seed(image, &parent, secret)?.ok_or_else(|| {
            AppError::MissingSecret {
                bundle: bundle_path.display().to_string(),
                secret: secret_path(image).display().to_string(),
            }
        })?;
        Ok(Self {
            frame,
            bundle: parent,
            seed,
            name: bundle_path.display().to_string(),
        })
    }

    /// Verifies the parent's history down to the device signature; refuses one
    /// that does not verify.
    pub fn verify(self, store: &KeyStore) -> Result<VerifiedParent, AppError> {
        let report =
            crate::verify::verify_frame(&self.frame, &self.bundle, Some(&self.seed), store);
        if !report.valid {
            return Err(AppError::UnverifiedParent {
                bundle: self.name,
                reason: report.reason.unwrap_or_default(),
            });
        }
        Ok(VerifiedParent(self))
    }
}

impl VerifiedParent {
    pub fn parent(&self) -> &Parent {
        &self.0
    }

    /// Applies `chain` and proves every step (keys generated where missing);
    /// returns the edited frame and its bundle.
    pub fn edit(
        self,
        chain: &FilterChain,
        store: &KeyStore,
        progress: &dyn Progress,
    ) -> Result<(Frame, Bundle), AppError> {
        let p = self.0;
        let prover = Prover::new(store, progress);
        Ok(prover.edit(&p.frame, p.bundle, &p.seed, chain)?)
    }

    /// Applies `chain` exactly as [`VerifiedParent::edit`] would (the same
    /// refusals of unsupported uses), proving nothing: an unproven preview.
    pub fn preview(&self, chain: &FilterChain) -> Result<Frame, AppError> {
        let p = &self.0;
        let seeds: Vec<Seed> = (0..chain.filters.len())
            .map(|i| blinding_seed(&OsEntropy, i))
            .collect();
        let plan = EditPlan::new(p.frame.clone(), &p.bundle.media, &p.seed, chain, &seeds)?;
        Ok(plan.output().clone())
    }
}

/// Where an edit reads and writes.
#[derive(Clone, Debug)]
pub struct EditFiles {
    pub image: PathBuf,
    /// The edited PNG.
    pub output: PathBuf,
    /// The input's bundle (default: `<image>.mpegs.json`).
    pub bundle: Option<PathBuf>,
    /// The input's secret, when its bundle does not reveal its seed (default:
    /// `<image>.mpegs.secret.json`).
    pub secret: Option<PathBuf>,
}

/// What a proven edit wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Edited {
    pub image: PathBuf,
    pub output: PathBuf,
    /// `WxH format` of the output.
    pub media: String,
    pub proofs: usize,
    pub seconds: f64,
    pub bundle: PathBuf,
}

/// What a dry run wrote: the edited pixels only, no proofs, no bundle.
#[derive(Clone, Debug, Serialize)]
pub struct Previewed {
    pub image: PathBuf,
    pub output: PathBuf,
    pub media: String,
    /// Always false: nothing was proven.
    pub proven: bool,
}

fn check_png(output: &Path) -> Result<(), AppError> {
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if ext.as_deref() != Some("png") {
        return Err(AppError::Input(
            "the output must be a .png file (lossless, so its pixels keep matching the proofs)"
                .into(),
        ));
    }
    Ok(())
}

/// The parsed chain and the verified input of an edit of `files`.
fn prepare(
    files: &EditFiles,
    vf: &str,
    store: &KeyStore,
) -> Result<(FilterChain, VerifiedParent), AppError> {
    check_png(&files.output)?;
    let chain = parse_filtergraph(vf)?;
    let parent = Parent::load(
        &files.image,
        files.bundle.as_deref(),
        files.secret.as_deref(),
    )?;
    Ok((chain, parent.verify(store)?))
}

/// `mpegs edit`: verifies the input's history, applies `vf`, proves it, and
/// writes the PNG (atomically) and its bundle `<output>.mpegs.json`.
pub fn edit_file(
    files: &EditFiles,
    vf: &str,
    store: &KeyStore,
    progress: &dyn Progress,
) -> Result<Edited, AppError> {
    let (chain, parent) = prepare(files, vf, store)?;
    let started = std::time::Instant::now();
    let (edited, bundle) = parent.edit(&chain, store, progress)?;
    let out_bundle = sidecar_path(&files.output);
    save_png_atomic(&edited, &files.output)?;
    bundle.save(&out_bundle)?;
    let proofs = bundle
        .edit
        .as_ref()
        .map_or(0, |e| e.steps.iter().map(|s| s.tiles.len()).sum());
    Ok(Edited {
        image: files.image.clone(),
        output: files.output.clone(),
        media: edited.info.to_string(),
        proofs,
        seconds: started.elapsed().as_secs_f64(),
        bundle: out_bundle,
    })
}

/// `mpegs edit --dry-run`: verifies the input's history and applies `vf`,
/// writing only the edited PNG (atomically). It never writes a bundle, and
/// refuses an output that already has one beside it (the unproven pixels
/// would sit next to proofs about other ones).
pub fn preview_file(files: &EditFiles, vf: &str, store: &KeyStore) -> Result<Previewed, AppError> {
    let sidecar = sidecar_path(&files.output);
    if sidecar.exists() {
        return Err(AppError::Input(format!(
            "{} has a bundle beside it ({}); a dry run writes unproven pixels, so choose another output",
            files.output.display(),
            sidecar.display()
        )));
    }
    let (chain, parent) = prepare(files, vf, store)?;
    let edited = parent.preview(&chain)?;
    save_png_atomic(&edited, &files.output)?;
    Ok(Previewed {
        image: files.image.clone(),
        output: files.output.clone(),
        media: edited.info.to_string(),
        proven: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{original, tampered_original};

    fn files(o: &crate::testing::Original) -> EditFiles {
        EditFiles {
            image: o.image.clone(),
            output: o.dir.path().join("out.png"),
            bundle: None,
            secret: None,
        }
    }

    #[test]
    fn an_edit_of_a_parent_that_does_not_verify_is_refused() {
        let o = tampered_original();
        let f = files(&o);
        let quiet = mpegs_provenance::prove::Quiet;
        for e in [
            edit_file(&f, "hflip", &o.store, &quiet).unwrap_err(),
            preview_file(&f, "hflip", &o.store).unwrap_err(),
        ] {
            match e {
                AppError::UnverifiedParent { reason, .. } => {
                    assert!(reason.contains("altered"), "{reason}")
                }
                other => panic!("not refused as unverified: {other}"),
            }
        }
        assert!(!f.output.exists() && !sidecar_path(&f.output).exists());
    }

    #[test]
    fn a_dry_run_writes_the_edited_pixels_and_no_bundle() {
        let o = original(true);
        let f = files(&o);
        let done = preview_file(&f, "hflip,negate", &o.store).unwrap();
        assert!(!done.proven);
        let input = load_image(&o.image).unwrap();
        let out = load_image(&f.output).unwrap();
        let chain = parse_filtergraph("hflip,negate").unwrap();
        let mut expected = input;
        for filter in &chain.filters {
            expected = mpegs_filters::apply(filter.as_ref(), &expected).unwrap();
        }
        assert_eq!(out, expected);
        assert!(!sidecar_path(&f.output).exists());
        // Never over an output that has a bundle beside it.
        std::fs::write(sidecar_path(&f.output), "{}").unwrap();
        let e = preview_file(&f, "hflip", &o.store).unwrap_err();
        assert!(matches!(e, AppError::Input(_)), "{e}");
    }
}
