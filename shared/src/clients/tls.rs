//! Which certificate authorities outbound TLS trusts, decided once. Reading and parsing the
//! system's bundle (about 140 PEM roots) was 83% of a cold start's instructions (callgrind,
//! docs/benchmarks.md), paid once by the AWS SDK and again by the HTTP client; neither needs it:
//!
//! - the AWS SDK talks only to AWS endpoints, whose certificates chain to Amazon Trust Services
//!   (its four roots and the Starfield Services G2 root they are cross-signed by, as AWS
//!   documents), so it trusts those five, from `certs/amazon-trust-services.pem`;
//! - WorkOS, the JWKS and Lemon Squeezy are public sites: Mozilla's root program, compiled in
//!   (`webpki-roots`), with nothing to read or parse at run time.

use std::sync::Arc;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

const AMAZON_TRUST_SERVICES: &str = include_str!("../../certs/amazon-trust-services.pem");

/// The AWS SDK's HTTPS client, trusting Amazon Trust Services only.
pub fn aws_sdk_client() -> Result<SharedHttpClient, String> {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES);
    let context = TlsContext::builder().with_trust_store(trust).build().map_err(|e| e.to_string())?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The TLS configuration of the HTTP client for WorkOS and Lemon Squeezy: Mozilla's roots.
pub fn public_web() -> Result<rustls::ClientConfig, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_trust_stores_build() {
        assert!(aws_sdk_client().is_ok());
        let config = public_web().unwrap();
        assert!(!config.alpn_protocols.contains(&b"h3".to_vec()));
    }

    #[test]
    fn the_aws_bundle_holds_the_five_amazon_trust_services_roots() {
        let certs = AMAZON_TRUST_SERVICES.matches("-----BEGIN CERTIFICATE-----").count();
        assert_eq!(certs, 5);
    }
}
