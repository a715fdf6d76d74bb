//! Service endpoints: which addresses are this machine.

use url::{Host, Url};

/// Whether `url` names this machine: `localhost` or a loopback IP address.
/// Only such an endpoint may use plain http (the tests' stand-ins) or
/// static local credentials (DynamoDB Local).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// [`is_loopback`] of a URL given as text; text that is no URL is not.
pub fn is_loopback_text(text: &str) -> bool {
    Url::parse(text.trim()).is_ok_and(|url| is_loopback(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_and_loopback_addresses_are_this_machine() {
        for local in
            ["http://127.0.0.1:8000", "http://127.5.6.7", "http://localhost:1", "http://LOCALHOST", "http://[::1]:80/x"]
        {
            assert!(is_loopback_text(local), "{local}");
        }
    }

    #[test]
    fn look_alikes_and_other_hosts_are_not() {
        for remote in [
            "",
            "127.0.0.1:8000",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.1:8000",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil:1",
            "http://evil.com/127.0.0.1",
            "http://127.0.0.1@evil.com",
        ] {
            assert!(!is_loopback_text(remote), "{remote}");
        }
    }
}
