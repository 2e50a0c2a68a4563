//! Property tests: property strings and UPIDs round-trip for any valid input.

use proptest::prelude::*;
use proxdeck::macaddr::MacAddr;
use proxdeck::pve::Upid;
use proxdeck::pve::propstring::{
    IpConfig, IpSetting, LxcNet, PropString, QEMU_NIC_MODELS, QemuNet,
};

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,12}"
}

fn value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9:./_;+-]{1,20}"
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(|mut b| {
        b[0] = (b[0] & 0xfc) | 0x02;
        MacAddr(b)
    })
}

fn cidr() -> impl Strategy<Value = ipnet::Ipv4Net> {
    (any::<u32>(), 8u8..=30)
        .prop_map(|(a, p)| ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), p).unwrap())
}

proptest! {
    #[test]
    fn any_property_string_round_trips(
        first in proptest::option::of("[A-Za-z0-9:./_-]{1,20}"),
        parts in proptest::collection::vec((key(), value()), 0..6),
    ) {
        let mut text: Vec<String> = first.into_iter().collect();
        text.extend(parts.iter().map(|(k, v)| format!("{k}={v}")));
        prop_assume!(!text.is_empty());
        let s = text.join(",");
        let p = PropString::parse(&s).unwrap();
        prop_assert_eq!(p.to_string(), s);
    }

    #[test]
    fn qemu_net_round_trips_and_keeps_other_keys(
        model in proptest::sample::select(QEMU_NIC_MODELS),
        m in mac(),
        new in mac(),
        bridge in "vmbr[0-9]{1,2}",
        firewall in proptest::option::of(any::<bool>()),
        tag in proptest::option::of(1u16..4095),
    ) {
        let mut s = format!("{model}={},bridge={bridge}", m.to_pve());
        if let Some(f) = firewall { s.push_str(&format!(",firewall={}", u8::from(f))); }
        if let Some(t) = tag { s.push_str(&format!(",tag={t}")); }
        let mut n = QemuNet::parse(&s).unwrap();
        prop_assert_eq!(n.to_string(), s.clone());
        prop_assert_eq!(n.model(), Some(model));
        prop_assert_eq!(n.mac(), Some(m));
        prop_assert_eq!(n.tag(), tag);
        n.set_mac(new);
        let changed = n.to_string();
        prop_assert_eq!(changed.replacen(&new.to_pve(), &m.to_pve(), 1), s);
        prop_assert_eq!(QemuNet::parse(&changed).unwrap().mac(), Some(new));
    }

    #[test]
    fn lxc_net_round_trips(m in mac(), net in cidr(), gw in any::<u32>(), dhcp in any::<bool>()) {
        let ip = if dhcp { IpSetting::Dhcp } else { IpSetting::Static(net) };
        let gw = std::net::Ipv4Addr::from(gw);
        let n = LxcNet::new("eth0", "vmbr0", m, ip, Some(gw));
        let s = n.to_string();
        let back = LxcNet::parse(&s).unwrap();
        prop_assert_eq!(back.to_string(), s);
        prop_assert_eq!(back.mac(), Some(m));
        prop_assert_eq!(back.ip(), Some(ip));
        prop_assert_eq!(back.gw(), Some(gw));
    }

    #[test]
    fn ipconfig_round_trips(net in cidr(), gw in any::<u32>()) {
        let gw = std::net::Ipv4Addr::from(gw);
        let c = IpConfig::new(IpSetting::Static(net), Some(gw));
        let s = c.to_string();
        let back = IpConfig::parse(&s).unwrap();
        prop_assert_eq!(back.to_string(), s);
        prop_assert_eq!(back.ip(), Some(IpSetting::Static(net)));
        prop_assert_eq!(back.gw(), Some(gw));
    }

    #[test]
    fn upid_round_trips(
        node in "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        pid in any::<u32>(),
        pstart in 0u64..=0xF_FFFF_FFFF,
        start in any::<u32>(),
        ty in "[a-z]{3,10}",
        id in "[a-z0-9@.-]{0,8}",
        user in "[a-z]{1,8}@(pam|pve)(![a-z]{1,6})?",
    ) {
        let u = Upid::new(&node, pid, pstart, i64::from(start), &ty, &id, &user);
        let s = u.to_string();
        let back: Upid = s.parse().unwrap();
        prop_assert_eq!(back.to_string(), s.clone());
        prop_assert_eq!(back.pid, pid);
        prop_assert_eq!(back.pstart, pstart);
        prop_assert_eq!(back.starttime, i64::from(start));
        prop_assert_eq!(&back.task_type, &ty);
        prop_assert_eq!(&back.id, &id);
        prop_assert_eq!(&back.user, &user);
        // Lowercase hex is accepted and sent back unchanged.
        let lower = s.to_lowercase().replacen("upid:", "UPID:", 1);
        prop_assert_eq!(lower.parse::<Upid>().unwrap().to_string(), lower);
    }
}
