//! SHA-256 certificate fingerprints in the `AA:BB:...` form Proxmox displays.

use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Fingerprint(out)
    }
}

/// Why a fingerprint string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a SHA-256 fingerprint (32 hex bytes separated by ':', as `pvenode cert info` shows)"
)]
pub struct BadFingerprint(pub String);

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    /// Accepts `AA:BB:..` (either case) and 64 bare hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex: String = s.trim().chars().filter(|c| *c != ':').collect();
        let colons_ok = !s.contains(':') || s.trim().split(':').all(|p| p.len() == 2);
        if hex.len() != 64 || !colons_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(BadFingerprint(s.to_string()));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| BadFingerprint(s.to_string()))?;
        }
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_prints_proxmox_style() {
        let colon = "aa:BB:cc:DD:ee:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99";
        let fp: Fingerprint = colon.parse().unwrap();
        assert_eq!(fp.to_string(), colon.to_uppercase());
        let bare: Fingerprint = colon.replace(':', "").parse().unwrap();
        assert_eq!(fp, bare);
    }

    #[test]
    fn refuses_bad_input() {
        assert!("AA:BB".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
        // 64 hex digits, but grouped wrongly.
        let misgrouped = format!("AAB:B{}", "0".repeat(59));
        assert!(misgrouped.parse::<Fingerprint>().is_err());
    }

    #[test]
    fn digest_of_known_input() {
        // SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of_der(b"").to_string(),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }
}
