//! Who a per-client cap counts: an IPv4 address, or an IPv6 /64, since one
//! IPv6 host usually holds a whole /64.

use std::fmt;
use std::net::IpAddr;

/// A client address as per-client caps key it: `203.0.113.7` or `2001:db8:1:2::/64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }

    /// The key of an address as API Gateway writes it; `None` if it is not one.
    pub fn parse(address: &str) -> Option<Self> {
        address.trim().parse().ok().map(Self::from_ip)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_client_is_keyed_by_its_address() {
        assert_eq!(ClientKey::parse("203.0.113.7").unwrap().as_str(), "203.0.113.7");
    }

    #[test]
    fn ipv6_clients_in_one_slash_64_share_a_key() {
        let a = ClientKey::parse("2001:db8:1:2:aaaa::1").unwrap();
        let b = ClientKey::parse("2001:db8:1:2:ffff:1:2:3").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "2001:db8:1:2::/64");
        assert_ne!(a, ClientKey::parse("2001:db8:1:3::1").unwrap());
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_ipv4_client() {
        assert_eq!(ClientKey::parse("::ffff:203.0.113.7").unwrap().as_str(), "203.0.113.7");
    }

    #[test]
    fn garbage_is_no_client() {
        assert_eq!(ClientKey::parse("not an ip"), None);
        assert_eq!(ClientKey::parse(""), None);
    }
}
