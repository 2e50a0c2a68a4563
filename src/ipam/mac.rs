//! MAC generation.
//!
//! Sequential scheme: `02:00:00:a{node}:{host}:{nn}` (the design's example:
//! node-02, 192.168.2.101 → `02:00:00:a2:65:01`). The node byte is `0xA0 + n`,
//! so nodes 1–15 read `a1`–`af` as in the design, and nodes 16–95 continue into
//! `b0`–`ff`; node numbers above 95 cannot be written and need the random scheme.
//! `{host}` is the address's last octet; `{nn}` counts 01–ff and is increased on
//! every collision. The random scheme is the prefix plus three random bytes.

use std::net::Ipv4Addr;

use super::IpamError;
use crate::config::{MacConfig, MacScheme};
use crate::macaddr::MacAddr;

/// The node byte of the sequential scheme.
pub fn node_byte(node_number: u32) -> Result<u8, IpamError> {
    if (1..=95).contains(&node_number) {
        Ok(0xA0 + node_number as u8)
    } else {
        Err(IpamError::NodeNumberTooLarge(node_number))
    }
}

fn sequential(prefix: [u8; 3], node: u8, host: u8, counter: u8) -> MacAddr {
    MacAddr([prefix[0], prefix[1], prefix[2], node, host, counter])
}

fn random(prefix: [u8; 3]) -> Result<MacAddr, IpamError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 3];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| IpamError::MacExhausted {
            what: "a random MAC".into(),
            prefix: "no randomness".into(),
        })?;
    Ok(MacAddr([prefix[0], prefix[1], prefix[2], b[0], b[1], b[2]]))
}

/// The first MAC of the scheme that `taken` does not report as used.
pub fn choose(
    cfg: &MacConfig,
    node_number: u32,
    ip: Ipv4Addr,
    mut taken: impl FnMut(MacAddr) -> bool,
) -> Result<MacAddr, IpamError> {
    let prefix_text = format!(
        "{:02x}:{:02x}:{:02x}",
        cfg.prefix[0], cfg.prefix[1], cfg.prefix[2]
    );
    match cfg.scheme {
        MacScheme::Sequential => {
            let node = node_byte(node_number)?;
            let host = ip.octets()[3];
            (1..=255u8)
                .map(|c| sequential(cfg.prefix, node, host, c))
                .find(|m| !taken(*m))
                .ok_or_else(|| IpamError::MacExhausted {
                    what: format!("node {node_number}, host {host}"),
                    prefix: format!("{prefix_text}:{node:02x}:{host:02x}"),
                })
        }
        MacScheme::Random => {
            for _ in 0..64 {
                let m = random(cfg.prefix)?;
                if !taken(m) {
                    return Ok(m);
                }
            }
            Err(IpamError::MacExhausted {
                what: "a random MAC after 64 tries".into(),
                prefix: prefix_text,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq() -> MacConfig {
        MacConfig {
            scheme: MacScheme::Sequential,
            prefix: [2, 0, 0],
        }
    }

    #[test]
    fn the_designs_example() {
        let m = choose(&seq(), 2, "192.168.2.101".parse().unwrap(), |_| false).unwrap();
        assert_eq!(m.to_string(), "02:00:00:a2:65:01");
        let m3 = choose(&seq(), 3, "192.168.3.101".parse().unwrap(), |_| false).unwrap();
        assert_eq!(m3.to_string(), "02:00:00:a3:65:01");
    }

    #[test]
    fn collisions_raise_the_counter() {
        let first: MacAddr = "02:00:00:a2:65:01".parse().unwrap();
        let m = choose(&seq(), 2, "192.168.2.101".parse().unwrap(), |m| m == first).unwrap();
        assert_eq!(m.to_string(), "02:00:00:a2:65:02");
        assert!(choose(&seq(), 2, "192.168.2.101".parse().unwrap(), |_| true).is_err());
    }

    #[test]
    fn node_numbers_beyond_15_continue_and_beyond_95_are_refused() {
        assert_eq!(node_byte(15).unwrap(), 0xAF);
        assert_eq!(node_byte(16).unwrap(), 0xB0);
        assert_eq!(node_byte(95).unwrap(), 0xFF);
        assert!(node_byte(96).is_err());
        assert!(node_byte(0).is_err());
    }

    #[test]
    fn random_scheme_keeps_the_prefix() {
        let cfg = MacConfig {
            scheme: MacScheme::Random,
            prefix: [2, 0, 0],
        };
        let m = choose(&cfg, 200, "10.0.0.1".parse().unwrap(), |_| false).unwrap();
        assert_eq!(&m.0[..3], &[2, 0, 0]);
    }
}
