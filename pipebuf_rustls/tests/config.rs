//! Config errors of [`pipebuf_rustls::config`]: each problem (missing file, no PEM, bad PEM,
//! a key that does not match its certificate) comes back as the [`ConfigError`] variant that
//! names it; and configs loaded from files work end to end.

mod common;

use std::path::{Path, PathBuf};

use common::{Ca, Op, Pair, Schedule, name};
use pipebuf::EofKind;
use pipebuf_rustls::ConfigError;
use pipebuf_rustls::config::{self, ClientOptions, ServerOptions};
use rustls::{Error as RError, InconsistentKeys};

/// A fresh directory for this test's files.
fn tmp_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("pipebuf_rustls_config")
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, contents: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, contents).unwrap();
    path
}

/// A PEM block with the right label but a body that is not base64.
const CORRUPT_CERT_PEM: &str =
    "-----BEGIN CERTIFICATE-----\n!!!! not base64 ####\n-----END CERTIFICATE-----\n";

#[test]
fn missing_files_are_io_errors_naming_the_file() {
    let leaf = Ca::new("files CA").leaf(&["localhost"]);
    let dir = tmp_dir("missing");
    let cert = write(&dir, "cert.pem", &leaf.cert_pem);
    let key = write(&dir, "key.pem", &leaf.key_pem);
    let missing = dir.join("does-not-exist.pem");

    for (c, k) in [(&missing, &key), (&cert, &missing)] {
        match config::server_config_from_files(c, k, &ServerOptions::default()) {
            Err(ConfigError::Io { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
                let e = ConfigError::Io { path, source };
                assert!(e.to_string().contains("does-not-exist.pem"), "{e}");
                assert!(std::error::Error::source(&e).is_some());
            }
            other => panic!("expected ConfigError::Io, got {other:?}"),
        }
    }
    match config::client_config_from_file(&missing, &ClientOptions::default()) {
        Err(ConfigError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected ConfigError::Io, got {other:?}"),
    }
}

#[test]
fn configs_from_files_carry_a_connection() {
    let ca = Ca::new("files CA");
    let leaf = ca.leaf(&["localhost"]);
    let dir = tmp_dir("good");
    let cert = write(&dir, "cert.pem", &leaf.cert_pem);
    let key = write(&dir, "key.pem", &leaf.key_pem);
    let ca_file = write(&dir, "ca.pem", &ca.pem);
    let server = config::server_config_from_files(&cert, &key, &ServerOptions::default()).unwrap();
    let client = config::client_config_from_file(&ca_file, &ClientOptions::default()).unwrap();
    let mut pair = Pair::new(
        common::tls_client(client, name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.client_app
        .script([Op::Data(b"from files".to_vec()), Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert_eq!(pair.server_app.received, b"from files");
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
}

#[test]
fn non_pem_certificate_data_is_no_certificates() {
    let leaf = Ca::new("CA").leaf(&["localhost"]);
    for junk in [&b"this is not PEM"[..], b"", &[0x30, 0x82, 0x01, 0x00][..]] {
        assert!(
            matches!(
                config::server_config(junk, leaf.key_pem.as_bytes(), &ServerOptions::default()),
                Err(ConfigError::NoCertificates)
            ),
            "server cert {junk:?}"
        );
        assert!(
            matches!(
                config::client_config(junk, &ClientOptions::default()),
                Err(ConfigError::NoCertificates)
            ),
            "client CA {junk:?}"
        );
    }
    // A key where the certificate should be: PEM, but no certificate in it.
    assert!(matches!(
        config::server_config(
            leaf.key_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
            &ServerOptions::default()
        ),
        Err(ConfigError::NoCertificates)
    ));
    // Junk as the client CA bundle of a server.
    assert!(matches!(
        config::server_config(
            leaf.cert_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
            &ServerOptions {
                client_ca_pem: Some(b"junk".to_vec()),
                ..Default::default()
            }
        ),
        Err(ConfigError::NoCertificates)
    ));
}

#[test]
fn corrupt_pem_is_a_pem_error() {
    let leaf = Ca::new("CA").leaf(&["localhost"]);
    match config::server_config(
        CORRUPT_CERT_PEM.as_bytes(),
        leaf.key_pem.as_bytes(),
        &ServerOptions::default(),
    ) {
        Err(ConfigError::Pem { what, .. }) => assert_eq!(what, "certificate chain"),
        other => panic!("expected ConfigError::Pem, got {other:?}"),
    }
    // CA bundles, of a client and of a server asking for client certificates.
    match config::client_config(CORRUPT_CERT_PEM.as_bytes(), &ClientOptions::default()) {
        Err(e @ ConfigError::Pem { what, .. }) => {
            assert_eq!(what, "CA bundle");
            assert!(e.to_string().contains("CA bundle"), "{e}");
        }
        other => panic!("expected ConfigError::Pem, got {other:?}"),
    }
    let options = ServerOptions {
        client_ca_pem: Some(CORRUPT_CERT_PEM.as_bytes().to_vec()),
        ..Default::default()
    };
    match config::server_config(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes(), &options) {
        Err(ConfigError::Pem { what, .. }) => assert_eq!(what, "CA bundle"),
        other => panic!("expected ConfigError::Pem, got {other:?}"),
    }
}

#[test]
fn missing_or_junk_key_is_a_pem_error_about_the_key() {
    let leaf = Ca::new("CA").leaf(&["localhost"]);
    // A certificate where the key should be, and plain junk.
    for key in [leaf.cert_pem.as_bytes(), b"junk"] {
        match config::server_config(leaf.cert_pem.as_bytes(), key, &ServerOptions::default()) {
            Err(e @ ConfigError::Pem { what, .. }) => {
                assert_eq!(what, "private key");
                assert!(e.to_string().contains("private key"), "{e}");
            }
            other => panic!("expected ConfigError::Pem, got {other:?}"),
        }
    }
}

#[test]
fn key_that_does_not_match_the_certificate_is_refused() {
    let ca = Ca::new("CA");
    let (a, b) = (ca.leaf(&["localhost"]), ca.leaf(&["localhost"]));
    match config::server_config(
        a.cert_pem.as_bytes(),
        b.key_pem.as_bytes(),
        &ServerOptions::default(),
    ) {
        Err(ConfigError::Rustls(RError::InconsistentKeys(InconsistentKeys::KeyMismatch))) => (),
        other => panic!("expected ConfigError::Rustls(KeyMismatch), got {other:?}"),
    }
    // The same for a client certificate.
    match config::client_config(
        ca.pem.as_bytes(),
        &ClientOptions {
            client_cert_pem: Some((a.cert_pem.into_bytes(), b.key_pem.into_bytes())),
            ..Default::default()
        },
    ) {
        Err(ConfigError::Rustls(RError::InconsistentKeys(InconsistentKeys::KeyMismatch))) => (),
        other => panic!("expected ConfigError::Rustls(KeyMismatch), got {other:?}"),
    }
}

#[test]
fn certificate_that_is_not_der_is_refused() {
    // Valid PEM and base64, but the DER inside is not a certificate.
    let leaf = Ca::new("CA").leaf(&["localhost"]);
    let bogus = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let server = config::server_config(
        bogus.as_bytes(),
        leaf.key_pem.as_bytes(),
        &ServerOptions::default(),
    );
    assert!(
        matches!(server, Err(ConfigError::Rustls(_))),
        "server config with a bogus certificate: {server:?}"
    );
    let client = config::client_config(bogus.as_bytes(), &ClientOptions::default());
    assert!(
        matches!(client, Err(ConfigError::Rustls(_))),
        "client config with a bogus CA: {client:?}"
    );
}

#[test]
fn pem_helpers_skip_other_items_and_read_every_certificate() {
    let ca = Ca::new("CA");
    let leaf = ca.leaf(&["localhost"]);
    let bundle = format!("{}{}{}", leaf.key_pem, leaf.cert_pem, ca.pem);
    let certs = config::certs_from_pem(bundle.as_bytes()).unwrap();
    assert_eq!(certs.len(), 2);
    config::key_from_pem(bundle.as_bytes()).unwrap();
    // The chain (leaf + CA) is accepted as a server chain.
    let chain = format!("{}{}", leaf.cert_pem, ca.pem);
    config::server_config(
        chain.as_bytes(),
        leaf.key_pem.as_bytes(),
        &ServerOptions::default(),
    )
    .unwrap();
}
