//! IP address management: subnet validation, default pools and gateways, and picking free
//! addresses. Pure functions; the caller holds the write transaction that makes a pick final.

use crate::error::{Error, Result};
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An inclusive address range, as Neutron's `allocation_pools` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub start: IpAddr,
    pub end: IpAddr,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(v))
    } else {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    }
}

/// Parses a CIDR and requires it to be the network address (Neutron refuses host bits).
pub fn parse_cidr(cidr: &str, ip_version: u8) -> Result<IpNet> {
    let net: IpNet = cidr.parse().map_err(|_| {
        Error::bad_request(format!(
            "Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet."
        ))
    })?;
    let v = if net.addr().is_ipv4() { 4 } else { 6 };
    if v != ip_version {
        return Err(Error::bad_request(format!(
            "Invalid input for operation: cidr {cidr} is not an IPv{ip_version} subnet."
        )));
    }
    if net.trunc() != net {
        return Err(Error::bad_request(format!(
            "Invalid input for cidr. Reason: '{cidr}' isn't a recognized IP subnet cidr, '{}' is recommended.",
            net.trunc()
        )));
    }
    let min_prefix = if v == 4 { 30 } else { 126 };
    if net.prefix_len() > min_prefix + 2 {
        return Err(Error::bad_request(format!(
            "Invalid input for cidr: {cidr} is too small."
        )));
    }
    Ok(net)
}

/// Usable host range of a subnet: IPv4 skips the network and broadcast addresses, IPv6 the
/// subnet-router anycast address.
fn host_range(net: &IpNet) -> (u128, u128) {
    let (first, last) = (to_u128(net.network()), to_u128(net.broadcast()));
    match net {
        IpNet::V4(_) if net.prefix_len() >= 31 => (first, last),
        IpNet::V4(_) => (first + 1, last - 1),
        IpNet::V6(_) => (first + 1, last),
    }
}

/// Neutron's default gateway: the first host address.
pub fn default_gateway(net: &IpNet) -> IpAddr {
    from_u128(host_range(net).0, net.addr().is_ipv6())
}

/// Default pools: the host range minus the gateway, split around it.
pub fn default_pools(net: &IpNet, gateway: Option<IpAddr>) -> Vec<Pool> {
    let v6 = net.addr().is_ipv6();
    let (lo, hi) = host_range(net);
    let mk = |a: u128, b: u128| Pool {
        start: from_u128(a, v6),
        end: from_u128(b, v6),
    };
    match gateway.map(to_u128) {
        Some(g) if g >= lo && g <= hi => {
            let mut out = vec![];
            if g > lo {
                out.push(mk(lo, g - 1));
            }
            if g < hi {
                out.push(mk(g + 1, hi));
            }
            out
        }
        _ => vec![mk(lo, hi)],
    }
}

/// Checks user-given pools: inside the subnet, start ≤ end, not overlapping each other, and not
/// containing the gateway.
pub fn validate_pools(net: &IpNet, pools: &[Pool], gateway: Option<IpAddr>) -> Result<()> {
    let mut ranges: Vec<(u128, u128)> = vec![];
    for p in pools {
        if !net.contains(&p.start) || !net.contains(&p.end) {
            return Err(Error::bad_request(format!(
                "The allocation pool {}-{} spans beyond the subnet cidr {net}.",
                p.start, p.end
            )));
        }
        let (a, b) = (to_u128(p.start), to_u128(p.end));
        if a > b {
            return Err(Error::bad_request(format!(
                "Invalid allocation pool: {}-{}.",
                p.start, p.end
            )));
        }
        if let Some(g) = gateway {
            let g = to_u128(g);
            if g >= a && g <= b {
                return Err(Error::Conflict(format!(
                    "Gateway ip {} conflicts with allocation pool {}-{}.",
                    gateway.expect("checked"),
                    p.start,
                    p.end
                )));
            }
        }
        if ranges.iter().any(|(x, y)| a <= *y && *x <= b) {
            return Err(Error::bad_request("Found overlapping allocation pools."));
        }
        ranges.push((a, b));
    }
    Ok(())
}

/// Whether an address is inside one of the pools.
pub fn in_pools(pools: &[Pool], ip: IpAddr) -> bool {
    let v = to_u128(ip);
    pools.iter().any(|p| to_u128(p.start) <= v && v <= to_u128(p.end))
}

/// The lowest free address of the pools, skipping `used`; None when exhausted.
/// Scans at most `used.len() + 1` candidates, so a nearly full /64 costs no more than a /24.
pub fn first_free(pools: &[Pool], used: &HashSet<IpAddr>) -> Option<IpAddr> {
    for p in pools {
        let v6 = p.start.is_ipv6();
        let (a, b) = (to_u128(p.start), to_u128(p.end));
        let mut cur = a;
        loop {
            let ip = from_u128(cur, v6);
            if !used.contains(&ip) {
                return Some(ip);
            }
            if cur == b {
                break;
            }
            cur += 1;
        }
    }
    None
}

/// SLAAC address (EUI-64 from the MAC) in a /64.
pub fn eui64(net: &IpNet, mac: &str) -> Result<IpAddr> {
    let bytes: Vec<u8> = mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::bad_request(format!("Invalid MAC address {mac}")))?;
    if bytes.len() != 6 || net.prefix_len() != 64 {
        return Err(Error::bad_request("SLAAC needs a /64 subnet and a 48-bit MAC address."));
    }
    let iid = [
        bytes[0] ^ 0x02,
        bytes[1],
        bytes[2],
        0xff,
        0xfe,
        bytes[3],
        bytes[4],
        bytes[5],
    ];
    let mut v = to_u128(net.network());
    for (i, b) in iid.iter().enumerate() {
        v |= (*b as u128) << (8 * (7 - i));
    }
    Ok(from_u128(v, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_defaults_and_allocation() {
        let net = parse_cidr("10.0.0.0/24", 4).unwrap();
        let gw = default_gateway(&net);
        assert_eq!(gw.to_string(), "10.0.0.1");
        let pools = default_pools(&net, Some(gw));
        assert_eq!(
            pools,
            vec![Pool {
                start: "10.0.0.2".parse().unwrap(),
                end: "10.0.0.254".parse().unwrap()
            }]
        );
        let mut used = HashSet::new();
        for _ in 0..253 {
            let ip = first_free(&pools, &used).unwrap();
            assert!(used.insert(ip));
        }
        assert_eq!(first_free(&pools, &used), None, "pool exhausted");
    }

    #[test]
    fn cidr_rules() {
        assert!(parse_cidr("10.0.0.5/24", 4).is_err(), "host bits set");
        assert!(parse_cidr("10.0.0.0/24", 6).is_err(), "wrong version");
        assert!(parse_cidr("2001:db8::/64", 6).is_ok());
        assert!(parse_cidr("nonsense", 4).is_err());
    }

    #[test]
    fn pool_validation() {
        let net = parse_cidr("192.168.1.0/24", 4).unwrap();
        let p = |a: &str, b: &str| Pool {
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        };
        let gw = Some("192.168.1.1".parse().unwrap());
        assert!(validate_pools(&net, &[p("192.168.1.10", "192.168.1.20")], gw).is_ok());
        assert!(
            validate_pools(&net, &[p("192.168.1.1", "192.168.1.20")], gw).is_err(),
            "contains gateway"
        );
        assert!(
            validate_pools(&net, &[p("192.168.1.10", "192.168.2.20")], gw).is_err(),
            "outside cidr"
        );
        assert!(validate_pools(
            &net,
            &[p("192.168.1.10", "192.168.1.20"), p("192.168.1.15", "192.168.1.30")],
            gw
        )
        .is_err());
    }

    #[test]
    fn slaac_address() {
        let net = parse_cidr("2001:db8::/64", 6).unwrap();
        assert_eq!(
            eui64(&net, "fa:16:3e:12:34:56").unwrap().to_string(),
            "2001:db8::f816:3eff:fe12:3456"
        );
    }
}
