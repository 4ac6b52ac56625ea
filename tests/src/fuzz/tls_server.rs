//! A TLS server fed arbitrary bytes as its client's records (the saved corpus starts from a
//! real ClientHello), whole and cut at points the input chooses, on either rustls API; see
//! `tls_fuzz` for what is checked.

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    super::tls_fuzz::run(data, true);
}
