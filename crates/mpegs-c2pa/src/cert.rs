//! A test CA and ES256 signing certificate for demos and tests: clearly labelled
//! untrusted, on no trust list, so a reader reports `signingCredential.untrusted`.
//! The end-entity certificate has what C2PA validation asks of a signer:
//! digitalSignature only, the emailProtection and documentSigning EKUs, SKI/AKI.

use crate::C2paError;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SignatureAlgorithm, SigningKey,
};
use sha2::Digest;
use std::path::{Path, PathBuf};

/// A P-256 key rcgen can sign with (rcgen's own crypto backends are off).
struct P256Key {
    key: p256::ecdsa::SigningKey,
    point: Vec<u8>,
}

impl P256Key {
    fn generate() -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let point = key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        Self { key, point }
    }

    fn pkcs8_pem(&self) -> Result<String, C2paError> {
        Ok(self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| C2paError::Cert(e.to_string()))?
            .to_string())
    }

    /// Key identifier: the first 20 bytes of sha256 of the SubjectPublicKeyInfo.
    fn key_id(&self) -> KeyIdMethod {
        KeyIdMethod::PreSpecified(
            sha2::Sha256::digest(self.subject_public_key_info())[..20].to_vec(),
        )
    }
}

impl PublicKeyData for P256Key {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for P256Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.key.sign(msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// A positive 16-byte serial (rcgen without crypto cannot pick one).
fn serial() -> rcgen::SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    rcgen::SerialNumber::from_slice(&bytes)
}

fn name(common: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common);
    dn.push(
        DnType::OrganizationName,
        "mpegs demo (UNTRUSTED, not on any trust list)",
    );
    dn
}

/// The test PKI in PEM.
pub struct TestPki {
    pub ca: String,
    /// The signer's certificate then the CA's: what `mpegs c2pa sign --cert` takes.
    pub chain: String,
    /// The signer's PKCS#8 private key.
    pub key: String,
}

/// A fresh CA and signer.
pub fn test_pki() -> Result<TestPki, C2paError> {
    let cert_err = |e: rcgen::Error| C2paError::Cert(e.to_string());
    let ca_key = P256Key::generate();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name("mpegs UNTRUSTED demo root CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.key_identifier_method = ca_key.key_id();
    ca.serial_number = Some(serial());
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let ca_pem = ca.self_signed(&ca_key).map_err(cert_err)?.pem();
    let issuer = Issuer::new(ca, ca_key);

    let key = P256Key::generate();
    let mut ee = CertificateParams::default();
    ee.distinguished_name = name("mpegs UNTRUSTED demo signer");
    ee.is_ca = IsCa::ExplicitNoCa;
    ee.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ee.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::EmailProtection,
        // documentSigning (RFC 9336)
        ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 36]),
    ];
    ee.use_authority_key_identifier_extension = true;
    ee.key_identifier_method = key.key_id();
    ee.serial_number = Some(serial());
    ee.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ee.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let signer_pem = ee.signed_by(&key, &issuer).map_err(cert_err)?.pem();
    Ok(TestPki {
        chain: format!("{signer_pem}{ca_pem}"),
        ca: ca_pem,
        key: key.pkcs8_pem()?,
    })
}

/// The files `write_test_pki` makes in a folder.
pub struct PkiFiles {
    pub ca: PathBuf,
    pub chain: PathBuf,
    pub key: PathBuf,
}

/// Writes a fresh test PKI to `dir` (`ca.pem`, `chain.pem`, `signer.key` with mode
/// 0600), refusing to overwrite an existing key.
pub fn write_test_pki(dir: &Path) -> Result<PkiFiles, C2paError> {
    std::fs::create_dir_all(dir)?;
    let files = PkiFiles {
        ca: dir.join("ca.pem"),
        chain: dir.join("chain.pem"),
        key: dir.join("signer.key"),
    };
    if files.key.exists() {
        return Err(C2paError::Input(format!(
            "{} already exists; refusing to overwrite a signing key",
            files.key.display()
        )));
    }
    let pki = test_pki()?;
    // The temporary file behind write_atomic is created 0600; say so explicitly.
    mpegs_media::write_atomic(&files.key, pki.key.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))?;
    }
    mpegs_media::write_atomic(&files.chain, pki.chain.as_bytes())?;
    mpegs_media::write_atomic(&files.ca, pki.ca.as_bytes())?;
    Ok(files)
}
