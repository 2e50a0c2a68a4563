//! Live figures that move plausibly over time: derived from the clock and a
//! per-object phase at read time, so no background task has to tick.

use super::model::{Model, SimGuest, SimNode, now_unix};

fn wave(t: f64, period: f64, phase: f64) -> f64 {
    ((t / period + phase).sin() + 1.0) / 2.0
}

fn now_f() -> f64 {
    now_unix() as f64
}

/// CPU use as a fraction of the guest's CPUs.
pub fn guest_cpu(g: &SimGuest) -> f64 {
    if !g.running {
        return 0.0;
    }
    let t = now_f();
    (0.02 + 0.35 * wave(t, 23.0, g.phase).powi(2) + 0.05 * wave(t, 5.0, g.phase * 3.0)).min(1.0)
}

pub fn guest_mem(g: &SimGuest) -> u64 {
    if !g.running {
        return 0;
    }
    let frac = 0.35 + 0.25 * wave(now_f(), 61.0, g.phase);
    (g.maxmem() as f64 * frac) as u64
}

pub fn guest_uptime(g: &SimGuest) -> u64 {
    match (g.running, g.started_unix) {
        (true, Some(s)) => (now_unix() - s).max(0) as u64,
        _ => 0,
    }
}

/// Disk used by a container (a share of its rootfs that grows slowly).
pub fn guest_disk(g: &SimGuest) -> u64 {
    (g.maxdisk() as f64 * (0.2 + 0.1 * g.phase.fract().abs())) as u64
}

pub fn node_cpu(model: &Model, n: &SimNode) -> f64 {
    if !n.online {
        return 0.0;
    }
    let guests: f64 = model
        .guests
        .values()
        .filter(|g| g.node == n.name)
        .map(|g| guest_cpu(g) * f64::from(g.cpus()))
        .sum();
    (0.03 + 0.04 * wave(now_f(), 17.0, n.phase) + guests / f64::from(n.cpus.max(1))).min(1.0)
}

pub fn node_mem(model: &Model, n: &SimNode) -> u64 {
    if !n.online {
        return 0;
    }
    let base = 1_600_000_000u64 + (200_000_000.0 * wave(now_f(), 90.0, n.phase)) as u64;
    let guests: u64 = model
        .guests
        .values()
        .filter(|g| g.node == n.name)
        .map(guest_mem)
        .sum();
    (base + guests).min(n.maxmem)
}

pub fn node_uptime(n: &SimNode) -> u64 {
    if n.online {
        (now_unix() - n.boot_unix).max(0) as u64
    } else {
        0
    }
}
