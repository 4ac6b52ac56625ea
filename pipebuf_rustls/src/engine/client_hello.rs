//! The SNI name from a ClientHello, read from the encrypted input before rustls sees it.
//!
//! rustls 0.23's unbuffered server does not expose the name it received, so the unbuffered
//! engine looks for it itself. Only the common case is read: the whole ClientHello in the
//! first record. rustls still parses and validates the hello; the name is only reported
//! once its handshake has succeeded, so a malformed hello never yields one.

use rustls::pki_types::DnsName;

/// TLS record content type of handshake records.
const HANDSHAKE_RECORD: u8 = 22;
/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;
/// Extension type of server_name (RFC 6066).
const SERVER_NAME_EXTENSION: u16 = 0;
/// server_name entry type of a DNS host name.
const HOST_NAME: u8 = 0;

/// Bounds-checked reading of big-endian fields.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// A field with a `len_bytes`-byte length prefix.
    fn vector(&mut self, len_bytes: usize) -> Option<Fields<'a>> {
        let len = match len_bytes {
            1 => usize::from(self.u8()?),
            _ => usize::from(self.u16()?),
        };
        self.take(len).map(Fields)
    }
}

/// What the start of the input says about the SNI name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sni {
    /// The first record is not complete yet.
    NeedMore,
    /// The hello names this host (lowercased).
    Name(String),
    /// No name can be read: none sent, not a DNS name, or not in the first record.
    None,
}

/// Reads the SNI host name from the ClientHello at the start of `input`.
pub(crate) fn sni(input: &[u8]) -> Sni {
    let mut record = Fields(input);
    let (Some(kind), Some(_version), Some(len)) = (record.u8(), record.u16(), record.u16()) else {
        return Sni::NeedMore;
    };
    if kind != HANDSHAKE_RECORD {
        return Sni::None;
    }
    let Some(fragment) = record.take(usize::from(len)) else {
        return Sni::NeedMore;
    };
    name_from_hello(fragment).map_or(Sni::None, Sni::Name)
}

fn name_from_hello(fragment: &[u8]) -> Option<String> {
    let mut message = Fields(fragment);
    if message.u8()? != CLIENT_HELLO {
        return None;
    }
    let len = message.u24()?;
    let mut hello = Fields(message.take(len)?);
    hello.take(2 + 32)?; // legacy_version, random
    hello.vector(1)?; // legacy_session_id
    hello.vector(2)?; // cipher_suites
    hello.vector(1)?; // legacy_compression_methods
    let mut extensions = hello.vector(2)?;
    while let Some(kind) = extensions.u16() {
        let mut body = extensions.vector(2)?;
        if kind != SERVER_NAME_EXTENSION {
            continue;
        }
        let mut names = body.vector(2)?;
        while let Some(name_type) = names.u8() {
            let name = names.vector(2)?.0;
            if name_type == HOST_NAME {
                let name = std::str::from_utf8(name).ok()?;
                let name = DnsName::try_from(name).ok()?;
                return Some(name.as_ref().to_ascii_lowercase());
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with the given extensions block (type, body) pairs.
    fn hello(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut ext = Vec::new();
        for (kind, body) in extensions {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&(body.len() as u16).to_be_bytes());
            ext.extend_from_slice(body);
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut message = vec![CLIENT_HELLO];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE_RECORD, 3, 1];
        record.extend_from_slice(&(message.len() as u16).to_be_bytes());
        record.extend_from_slice(&message);
        record
    }

    fn server_name(host: &[u8]) -> (u16, Vec<u8>) {
        let mut entry = vec![HOST_NAME];
        entry.extend_from_slice(&(host.len() as u16).to_be_bytes());
        entry.extend_from_slice(host);
        let mut list = (entry.len() as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&entry);
        (SERVER_NAME_EXTENSION, list)
    }

    #[test]
    fn the_host_name_is_found_among_other_extensions() {
        let record = hello(&[(10, vec![0, 2, 0, 29]), server_name(b"Example.COM")]);
        assert_eq!(sni(&record), Sni::Name("example.com".into()));
    }

    #[test]
    fn a_hello_without_server_name_has_none() {
        assert_eq!(sni(&hello(&[(10, vec![0, 2, 0, 29])])), Sni::None);
    }

    #[test]
    fn an_ip_address_or_invalid_name_is_not_reported() {
        assert_eq!(sni(&hello(&[server_name(b"bad name!")])), Sni::None);
    }

    #[test]
    fn every_truncation_of_the_record_asks_for_more_or_finds_nothing() {
        let record = hello(&[server_name(b"localhost")]);
        for cut in 0..record.len() {
            assert_eq!(sni(&record[..cut]), Sni::NeedMore, "cut at {cut}");
        }
        assert_eq!(sni(&record), Sni::Name("localhost".into()));
    }

    #[test]
    fn lengths_that_overrun_their_container_find_nothing_and_do_not_panic() {
        let record = hello(&[server_name(b"localhost")]);
        for i in 5..record.len() {
            for value in [0u8, 1, 0x7f, 0xff] {
                let mut broken = record.clone();
                broken[i] = value;
                let _ = sni(&broken);
            }
        }
    }

    #[test]
    fn a_non_handshake_record_has_none() {
        let mut record = hello(&[server_name(b"localhost")]);
        record[0] = 23;
        assert_eq!(sni(&record), Sni::None);
    }
}
