//! Which certificates a mail server's TLS is checked against: the public web's roots, and also
//! the operator's own certificate authority when `mail_tls_ca` names a PEM file (a company mail
//! server under an internal CA). A certificate that does not check out ends the connection:
//! there is no setting that turns the check off.

use std::sync::Arc;

use lettre::transport::smtp::client::{Certificate, TlsParameters};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

use crate::{MailError, Result};

/// The roots mail servers' certificates are checked against.
#[derive(Clone, Default)]
pub struct Trust {
    /// The operator's CA certificates, as PEM (lettre reads them from there) and parsed.
    pem: Option<Arc<Vec<u8>>>,
    extra: Arc<Vec<CertificateDer<'static>>>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust").field("extra_roots", &self.extra.len()).finish()
    }
}

impl Trust {
    /// The public web's roots only.
    pub fn public() -> Self {
        Self::default()
    }

    /// The public roots and every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &std::path::Path) -> Result<Self> {
        let bad = |why: &str| MailError::Config(format!("mail_tls_ca: {why}"));
        let pem = std::fs::read(path).map_err(|_| bad("the file cannot be read"))?;
        let extra = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad("the file is not PEM certificates"))?;
        if extra.is_empty() {
            return Err(bad("the file holds no certificate"));
        }
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(extra.iter().cloned());
        if added != extra.len() {
            return Err(bad("a certificate in the file cannot be used as a root"));
        }
        Ok(Self {
            pem: Some(Arc::new(pem)),
            extra: Arc::new(extra),
        })
    }

    /// A TLS client set-up for IMAP.
    pub(crate) fn rustls(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots.add_parsable_certificates(self.extra.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| MailError::Config("TLS could not be set up".into()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// TLS parameters for SMTP to `domain` (the name the certificate must carry).
    pub(crate) fn lettre(&self, domain: &str) -> Result<TlsParameters> {
        let mut b = TlsParameters::builder(domain.to_string());
        if let Some(pem) = &self.pem {
            let cert = Certificate::from_pem(pem).map_err(|_| MailError::Config("mail_tls_ca: the file is not PEM certificates".into()))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|_| MailError::Config("TLS could not be set up".into()))
    }
}
