//! Typed values for what the desired state hands the data plane as text (MACs, addresses,
//! CIDRs, hostnames): every value is parsed here before it reaches nftables, iproute2 or
//! dnsmasq, which only ever see these types printed back in their canonical form. A value
//! that does not parse is that one entry's error; it never reaches a tool.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// An Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl std::str::FromStr for Mac {
    type Err = String;

    /// Six groups of one or two hex digits separated by `:` or `-` (one separator kind).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a MAC address");
        let sep = if s.contains('-') { '-' } else { ':' };
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut m = [0u8; 6];
        for (b, p) in m.iter_mut().zip(parts) {
            if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(Mac(m))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

pub fn mac(s: &str) -> Result<Mac, String> {
    s.parse()
}

pub fn addr(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("{s:?} is not an IP address"))
}

/// An address or a CIDR; an address is its host prefix, host bits of a CIDR are cleared.
pub fn net(s: &str) -> Result<IpNet, String> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    s.parse::<IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| format!("{s:?} is not an IP address or CIDR"))
}

/// A CIDR as written, host bits kept (`10.0.0.1/24`: an interface address).
pub fn interface_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .map_err(|_| format!("{s:?} is not an address with a prefix length"))
}

/// An RFC 1123 host label: `[A-Za-z0-9-]`, 1 to 63 characters, not starting or ending with
/// a hyphen.
pub fn is_host_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Linux interface name Ciel makes: ASCII letters, digits and `-`, 1 to 15 characters.
pub fn is_ifname(s: &str) -> bool {
    !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An object id that may name a namespace or a directory (`[A-Za-z0-9_-]`, 1 to 64).
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(mac("AA:bb:0c:dd:ee:ff").unwrap().to_string(), "aa:bb:0c:dd:ee:ff");
        assert_eq!(mac("fa-16-3e-0-1-2").unwrap().to_string(), "fa:16:3e:00:01:02");
        for bad in [
            "",
            "not-a-mac",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aa:bb:cc:dd:ee:fff",
            "aa:bb:cc:dd:ee:+f",
            "aa:bb:cc:dd:ee:f }",
            "aa:bb-cc:dd:ee:ff",
        ] {
            assert!(mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_and_nets() {
        assert_eq!(net("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(net("10.0.0.5/24").unwrap().to_string(), "10.0.0.0/24");
        assert_eq!(net("2001:db8::1/64").unwrap().to_string(), "2001:db8::/64");
        assert_eq!(interface_net("10.0.0.1/24").unwrap().to_string(), "10.0.0.1/24");
        for bad in [
            "not-an-ip",
            "10.0.0.0/33",
            "10.0.0.1 } drop",
            "",
            "10.0.0.1\n",
            "1.2.3.4/",
        ] {
            assert!(net(bad).is_err(), "{bad}");
        }
        assert!(addr("10.0.0.0/8").is_err());
    }

    #[test]
    fn host_labels_and_ifnames() {
        assert!(is_host_label("host-10-0-0-5"));
        assert!(is_host_label(&"a".repeat(63)));
        for bad in ["", "-a", "a-", "a.b", "a,b", "a\nb", "a b", &"a".repeat(64)] {
            assert!(!is_host_label(bad), "{bad:?}");
        }
        assert!(is_ifname("ctp3f2a1b4c5d6"));
        assert!(!is_ifname("ctp\"}; drop"));
        assert!(!is_ifname("ctp1234567890123"));
        assert!(is_id("3f2a1b4c-5d6e-4f00-8a9b-0c1d2e3f4a5b"));
        assert!(!is_id("../../etc"));
        assert!(!is_id(""));
    }
}
