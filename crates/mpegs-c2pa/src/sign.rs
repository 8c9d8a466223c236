//! Signing: the manifest embedded in a PNG or JPEG, ES256 with an X.509 chain.

use crate::{format_of, manifest, offline_context, C2paError, MPEGS_LABEL};
use mpegs_provenance::bundle::Bundle;
use std::io::Cursor;

/// The file `image` (PNG or JPEG bytes) with a manifest carrying `bundle`, signed
/// with the PEM certificate chain (signer first) and its PKCS#8 PEM key.
pub fn sign(
    image: &[u8],
    bundle: &Bundle,
    chain_pem: &[u8],
    key_pem: &[u8],
    title: &str,
) -> Result<Vec<u8>, C2paError> {
    let format = format_of(image)?;
    let definition = manifest::definition(bundle, format, title);
    let mut builder =
        c2pa::Builder::from_context(offline_context(None)?).with_definition(definition)?;
    // JSON, not CBOR, so that any reader shows the bundle as it is.
    let bundle_json = serde_json::to_value(bundle).expect("bundles serialize");
    builder.add_assertion_json(MPEGS_LABEL, &bundle_json)?;
    let signer = c2pa::create_signer::from_keys(chain_pem, key_pem, c2pa::SigningAlg::Es256, None)
        .map_err(|e| {
            C2paError::Cert(format!(
                "cannot sign with this certificate chain and key ({e}); the chain must be PEM \
                 with the signer first, the key PKCS#8 PEM (`mpegs c2pa cert` makes a test pair)"
            ))
        })?;
    let mut out = Cursor::new(Vec::new());
    builder.sign(signer.as_ref(), format, &mut Cursor::new(image), &mut out)?;
    Ok(out.into_inner())
}
