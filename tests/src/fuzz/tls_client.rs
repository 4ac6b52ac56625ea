//! A TLS client fed arbitrary bytes as its server's records (the saved corpus starts from a
//! real server's first flight), whole and cut at points the input chooses, on either rustls
//! API; see `tls_fuzz` for what is checked.

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    super::tls_fuzz::run(data, false);
}
