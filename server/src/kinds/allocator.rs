//! Service ClusterIP and NodePort allocation: this server's view of what is allocated.
//!
//! Storage is the authority, as in kube-apiserver (1.33+): an allocated cluster IP is an
//! `IPAddress` object named after it (its create-if-absent is the reservation), node ports
//! are a bitmap in a RangeAllocation record written with compare-and-swap (see
//! [`super::service`]). Several servers on one etcd therefore never hand out the same
//! value. This index is a cache in front of that: it picks candidates that are probably
//! free, tracks what this server's in-flight writes hold, and is refreshed from storage
//! when a reservation finds a value taken elsewhere.
//!
//! A write's reservations stay pending until the write is stored (then the service owns
//! them) or fails (then they are released, from storage too once they were recorded there).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use rand::Rng;

/// The default service CIDR: 10.96.0.0/12.
pub const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
pub const SERVICE_CIDR_BITS: u32 = 12;
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;

#[derive(Debug, Clone, PartialEq)]
enum Owner {
    /// A stored service of this server's view (`namespace/name`).
    Service(String),
    /// Reserved by a write that is not stored yet: picked by the allocator (`dynamic`) or
    /// asked for, and recorded in storage (`stored`) or not yet.
    Pending { dynamic: bool, stored: bool },
    /// Recorded in storage by someone else (learned on a conflict or a refresh).
    Foreign,
    /// Freed by a stored write; its storage record is being removed.
    Releasing,
}

/// A pending reservation: whether the allocator picked it and whether storage has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub dynamic: bool,
    pub stored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocError {
    Allocated,
    NotInRange,
    Full,
}

pub struct Allocator {
    base: u32,
    size: u32,
    port_min: u16,
    port_max: u16,
    ips: HashMap<u32, Owner>,
    ports: HashMap<u16, Owner>,
}

/// Reserves `k` as asked for. A dry run answers from this view alone; a real reservation
/// is refused here only when this server has `k` in flight, and otherwise left to storage
/// to decide (this view may not know that another server released it).
fn take_static<K: std::hash::Hash + Eq + Copy>(
    map: &mut HashMap<K, Owner>,
    k: K,
    reserve: bool,
) -> Result<(), AllocError> {
    match map.get(&k) {
        Some(Owner::Pending { .. } | Owner::Releasing) => return Err(AllocError::Allocated),
        Some(_) if !reserve => return Err(AllocError::Allocated),
        _ => {}
    }
    if reserve {
        map.insert(
            k,
            Owner::Pending {
                dynamic: false,
                stored: false,
            },
        );
    }
    Ok(())
}

/// The first of `candidates` this view holds as free, reserved as picked unless `reserve`
/// is false.
fn take_free<K: std::hash::Hash + Eq + Copy>(
    map: &mut HashMap<K, Owner>,
    candidates: impl Iterator<Item = K>,
    reserve: bool,
) -> Option<K> {
    for k in candidates {
        if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(k) {
            if reserve {
                slot.insert(Owner::Pending {
                    dynamic: true,
                    stored: false,
                });
            }
            return Some(k);
        }
    }
    None
}

/// Candidates of `0..size` as kube walks them: the upper band from a random start, then
/// the lower one (left for values asked for) from a random start.
fn bands(size: u32, static_band: u32) -> impl Iterator<Item = u32> {
    let mut rng = rand::rng();
    [(static_band, size - static_band), (0, static_band)]
        .into_iter()
        .filter(|(_, len)| *len > 0)
        .map(|(start, len)| (start, len, rng.random_range(0..len)))
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|(start, len, first)| (0..len).map(move |i| start + (first + i) % len))
}

fn reservation(o: Option<&Owner>) -> Option<Reservation> {
    match o {
        Some(Owner::Pending { dynamic, stored }) => Some(Reservation {
            dynamic: *dynamic,
            stored: *stored,
        }),
        _ => None,
    }
}

fn mark_stored<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Owner>, k: &K) {
    if let Some(Owner::Pending { stored, .. }) = map.get_mut(k) {
        *stored = true;
    }
}

/// Drops pending `keys`; the ones storage has become `Releasing` and are returned.
fn drop_pending<K: std::hash::Hash + Eq + Copy>(map: &mut HashMap<K, Owner>, keys: &[K]) -> Vec<K> {
    let mut stored = Vec::new();
    for k in keys {
        match map.get(k) {
            Some(Owner::Pending { stored: true, .. }) => {
                map.insert(*k, Owner::Releasing);
                stored.push(*k);
            }
            Some(Owner::Pending { .. }) => {
                map.remove(k);
            }
            _ => {}
        }
    }
    stored
}

/// Makes this view agree with what storage holds: values stored by others are taken,
/// values others held and freed are free. This server's own entries stay.
fn refresh<K: std::hash::Hash + Eq + Copy>(map: &mut HashMap<K, Owner>, stored: &HashSet<K>) {
    map.retain(|k, o| *o != Owner::Foreign || stored.contains(k));
    for k in stored {
        map.entry(*k).or_insert(Owner::Foreign);
    }
}

impl Allocator {
    pub fn new(base: u32, prefix_bits: u32, port_min: u16, port_max: u16) -> Allocator {
        Allocator {
            base,
            size: 1u32 << (32 - prefix_bits),
            port_min,
            port_max,
            ips: HashMap::new(),
            ports: HashMap::new(),
        }
    }

    /// An allocator for `cidr` (`10.96.0.0/12`, IPv4) and node ports `min..=max`.
    pub fn from_cidr(cidr: &str, port_min: u16, port_max: u16) -> Result<Allocator, String> {
        let bad = || format!("invalid service CIDR {cidr:?}");
        let (ip, bits) = cidr.split_once('/').ok_or_else(bad)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
        let bits: u32 = bits.parse().map_err(|_| bad())?;
        // kube needs room for at least the network, broadcast and one address.
        if !(1..=30).contains(&bits) || port_min > port_max {
            return Err(bad());
        }
        let base = u32::from(ip) & (u32::MAX << (32 - bits));
        Ok(Allocator::new(base, bits, port_min, port_max))
    }

    /// The range's first usable address, which the `kubernetes` Service gets.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    pub fn cidr(&self) -> String {
        format!(
            "{}/{}",
            Ipv4Addr::from(self.base),
            32 - self.size.trailing_zeros()
        )
    }

    pub fn port_range(&self) -> String {
        format!("{}-{}", self.port_min, self.port_max)
    }

    pub fn port_min(&self) -> u16 {
        self.port_min
    }

    pub fn port_max(&self) -> u16 {
        self.port_max
    }

    /// Allocates `requested`, or a free address when `None`, holding it as pending unless
    /// `reserve` is false (dry run: only answers what would be allocated).
    pub fn allocate_ip(
        &mut self,
        requested: Option<Ipv4Addr>,
        reserve: bool,
    ) -> Result<Ipv4Addr, AllocError> {
        if let Some(ip) = requested {
            let v = u32::from(ip);
            let off = v.wrapping_sub(self.base);
            if v < self.base || off == 0 || off >= self.size - 1 {
                return Err(AllocError::NotInRange);
            }
            take_static(&mut self.ips, v, reserve)?;
            return Ok(ip);
        }
        // Like kube, prefer the upper band and leave the lower one for static addresses.
        let usable = self.size.saturating_sub(2);
        let static_band = (usable / 16).clamp(16, 256).min(usable);
        let base = self.base;
        let candidates = bands(usable, static_band).map(|off| base + 1 + off);
        take_free(&mut self.ips, candidates, reserve)
            .map(Ipv4Addr::from)
            .ok_or(AllocError::Full)
    }

    /// Allocates node port `requested`, or a free one when `None` (held as pending unless
    /// `reserve` is false).
    pub fn allocate_port(
        &mut self,
        requested: Option<u16>,
        reserve: bool,
    ) -> Result<u16, AllocError> {
        if let Some(p) = requested {
            if p < self.port_min || p > self.port_max {
                return Err(AllocError::NotInRange);
            }
            take_static(&mut self.ports, p, reserve)?;
            return Ok(p);
        }
        let size = u32::from(self.port_max - self.port_min) + 1;
        let static_band = (size / 32).clamp(16, 128).min(size);
        let min = u32::from(self.port_min);
        let candidates = bands(size, static_band).map(|off| (min + off) as u16);
        take_free(&mut self.ports, candidates, reserve).ok_or(AllocError::Full)
    }

    /// The pending reservation of `ip`, if it is one.
    pub fn ip_reservation(&self, ip: Ipv4Addr) -> Option<Reservation> {
        reservation(self.ips.get(&u32::from(ip)))
    }

    pub fn port_reservation(&self, port: u16) -> Option<Reservation> {
        reservation(self.ports.get(&port))
    }

    /// Storage now records the pending `ip` as this write's.
    pub fn ip_stored(&mut self, ip: Ipv4Addr) {
        mark_stored(&mut self.ips, &u32::from(ip));
    }

    pub fn port_stored(&mut self, port: u16) {
        mark_stored(&mut self.ports, &port);
    }

    /// Storage says someone else holds `ip`.
    pub fn ip_taken_elsewhere(&mut self, ip: Ipv4Addr) {
        self.ips.insert(u32::from(ip), Owner::Foreign);
    }

    pub fn port_taken_elsewhere(&mut self, port: u16) {
        self.ports.insert(port, Owner::Foreign);
    }

    /// Refreshes the addresses from the ones storage records.
    pub fn refresh_ips(&mut self, stored: &[Ipv4Addr]) {
        let stored: HashSet<u32> = stored.iter().map(|ip| u32::from(*ip)).collect();
        refresh(&mut self.ips, &stored);
    }

    /// Refreshes the node ports from the ones storage records.
    pub fn refresh_ports(&mut self, stored: &[u16]) {
        let stored: HashSet<u16> = stored.iter().copied().collect();
        refresh(&mut self.ports, &stored);
    }

    /// Drops the reservations of a write that was not stored. Returns the ones storage
    /// records, which stay taken (releasing) until [`Allocator::released`].
    pub fn release_pending(
        &mut self,
        ips: &[Ipv4Addr],
        ports: &[u16],
    ) -> (Vec<Ipv4Addr>, Vec<u16>) {
        let ips: Vec<u32> = ips.iter().map(|ip| u32::from(*ip)).collect();
        let stored_ips = drop_pending(&mut self.ips, &ips);
        let stored_ports = drop_pending(&mut self.ports, ports);
        (
            stored_ips.into_iter().map(Ipv4Addr::from).collect(),
            stored_ports,
        )
    }

    /// Records what a stored service holds (`key` is `namespace/name`).
    pub fn observe(&mut self, key: &str, ips: &[Ipv4Addr], ports: &[u16]) {
        for ip in ips {
            self.ips
                .insert(u32::from(*ip), Owner::Service(key.to_string()));
        }
        for p in ports {
            self.ports.insert(*p, Owner::Service(key.to_string()));
        }
    }

    /// A stored write freed these: taken until their storage records are gone.
    pub fn free(&mut self, ips: &[Ipv4Addr], ports: &[u16]) {
        for ip in ips {
            self.ips.insert(u32::from(*ip), Owner::Releasing);
        }
        for p in ports {
            self.ports.insert(*p, Owner::Releasing);
        }
    }

    /// The storage records of releasing values are gone: they are free.
    pub fn released(&mut self, ips: &[Ipv4Addr], ports: &[u16]) {
        for ip in ips {
            if self.ips.get(&u32::from(*ip)) == Some(&Owner::Releasing) {
                self.ips.remove(&u32::from(*ip));
            }
        }
        for p in ports {
            if self.ports.get(p) == Some(&Owner::Releasing) {
                self.ports.remove(p);
            }
        }
    }

    /// Forgets every stored service (before a full reload).
    pub fn reset_services(&mut self) {
        let keep = |o: &Owner| matches!(o, Owner::Pending { .. } | Owner::Releasing);
        self.ips.retain(|_, o| keep(o));
        self.ports.retain(|_, o| keep(o));
    }
}

impl Default for Allocator {
    /// The default service CIDR (10.96.0.0/12) and node port range (30000-32767).
    fn default() -> Allocator {
        Allocator::new(
            SERVICE_CIDR_BASE,
            SERVICE_CIDR_BITS,
            NODE_PORT_MIN,
            NODE_PORT_MAX,
        )
    }
}

/// A node port bitmap as kube's RangeAllocation stores it: bit `i` (counting from the
/// least significant bit of the big-endian bytes, leading zero bytes dropped) is the
/// value at offset `i` of the range.
pub fn encode_bitmap(offsets: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let offsets: Vec<u32> = offsets.into_iter().collect();
    let Some(max) = offsets.iter().max() else {
        return Vec::new();
    };
    let len = (*max / 8 + 1) as usize;
    let mut bytes = vec![0u8; len];
    for o in offsets {
        bytes[len - 1 - (o / 8) as usize] |= 1 << (o % 8);
    }
    bytes
}

/// The offsets set in a bitmap written by [`encode_bitmap`] (or kube).
pub fn decode_bitmap(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, b) in bytes.iter().rev().enumerate() {
        for bit in 0..8 {
            if b & (1 << bit) != 0 {
                out.push(i as u32 * 8 + bit);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Allocator {
        // 10.0.0.0/29: usable .1-.6.
        Allocator::new(u32::from_be_bytes([10, 0, 0, 0]), 29, 30000, 30002)
    }

    #[test]
    fn allocates_distinct_until_full() {
        let mut a = small();
        let mut seen = HashSet::new();
        for _ in 0..6 {
            let ip = a.allocate_ip(None, true).expect("free address");
            let o = ip.octets();
            assert!((1..=6).contains(&o[3]), "{ip} in range");
            assert!(seen.insert(ip));
            assert_eq!(
                a.ip_reservation(ip),
                Some(Reservation {
                    dynamic: true,
                    stored: false
                })
            );
        }
        assert_eq!(a.allocate_ip(None, true), Err(AllocError::Full));
    }

    #[test]
    fn explicit_requests() {
        let mut a = small();
        let ip = Ipv4Addr::new(10, 0, 0, 3);
        assert_eq!(a.allocate_ip(Some(ip), true), Ok(ip));
        assert_eq!(
            a.ip_reservation(ip),
            Some(Reservation {
                dynamic: false,
                stored: false
            })
        );
        // In flight here: refused without asking storage.
        assert_eq!(a.allocate_ip(Some(ip), true), Err(AllocError::Allocated));
        a.ip_stored(ip);
        a.observe("ns/s", &[ip], &[30001]);
        assert_eq!(a.ip_reservation(ip), None, "owned, not pending");
        // A dry run answers from this view; a real request is left to storage, which
        // knows whether another server released it meanwhile.
        assert_eq!(a.allocate_ip(Some(ip), false), Err(AllocError::Allocated));
        assert_eq!(
            a.allocate_port(Some(30001), false),
            Err(AllocError::Allocated)
        );
        assert_eq!(a.allocate_port(Some(30001), true), Ok(30001));
        for bad in [[10, 0, 0, 0], [10, 0, 0, 7], [192, 168, 0, 1]] {
            assert_eq!(
                a.allocate_ip(Some(Ipv4Addr::from(bad)), true),
                Err(AllocError::NotInRange)
            );
        }
        assert_eq!(a.allocate_port(Some(80), true), Err(AllocError::NotInRange));
        assert_eq!(a.cidr(), "10.0.0.0/29");
    }

    #[test]
    fn pending_release_and_releasing() {
        let mut a = small();
        let (x, y) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 4));
        a.allocate_ip(Some(x), true).expect("free");
        a.allocate_ip(Some(y), true).expect("free");
        a.ip_stored(y);
        // Only what storage records needs releasing there; it stays taken until then.
        let (ips, ports) = a.release_pending(&[x, y], &[]);
        assert_eq!((ips, ports), (vec![y], vec![]));
        assert_eq!(a.allocate_ip(Some(x), true), Ok(x));
        assert_eq!(a.allocate_ip(Some(y), true), Err(AllocError::Allocated));
        a.released(&[y], &[]);
        assert_eq!(a.allocate_ip(Some(y), true), Ok(y));
        // A stored service's freed values are releasing too.
        a.observe("ns/s", &[], &[30000]);
        a.free(&[], &[30000]);
        assert_eq!(
            a.allocate_port(Some(30000), true),
            Err(AllocError::Allocated)
        );
        a.released(&[], &[30000]);
        assert_eq!(a.allocate_port(Some(30000), true), Ok(30000));
    }

    #[test]
    fn refresh_from_storage() {
        let mut a = small();
        let mine = Ipv4Addr::new(10, 0, 0, 1);
        a.observe("ns/mine", &[mine], &[]);
        let theirs: Vec<Ipv4Addr> = (2..=6).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        a.refresh_ips(&theirs);
        assert_eq!(a.allocate_ip(None, true), Err(AllocError::Full));
        // Another server released .5: free again after the next refresh.
        let now: Vec<Ipv4Addr> = theirs
            .iter()
            .copied()
            .filter(|ip| ip.octets()[3] != 5)
            .collect();
        a.refresh_ips(&now);
        assert_eq!(a.allocate_ip(None, true), Ok(Ipv4Addr::new(10, 0, 0, 5)));
        a.ip_taken_elsewhere(Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(a.ip_reservation(Ipv4Addr::new(10, 0, 0, 5)), None);
        a.refresh_ports(&[30000, 30002]);
        assert_eq!(a.allocate_port(None, true), Ok(30001));
        a.reset_services();
        assert_eq!(a.allocate_ip(Some(mine), false), Ok(mine));
    }

    #[test]
    fn dry_run_reserves_nothing() {
        let mut a = small();
        let ip = Ipv4Addr::new(10, 0, 0, 4);
        assert_eq!(a.allocate_ip(Some(ip), false), Ok(ip));
        assert_eq!(a.allocate_ip(Some(ip), false), Ok(ip));
        assert_eq!(a.allocate_port(Some(30000), false), Ok(30000));
        for _ in 0..20 {
            a.allocate_ip(None, false).expect("always free");
        }
        assert_eq!(a.allocate_ip(Some(ip), true), Ok(ip));
        assert_eq!(a.allocate_ip(Some(ip), false), Err(AllocError::Allocated));
    }

    #[test]
    fn from_cidr() {
        let a = Allocator::from_cidr("10.96.0.0/12", 30000, 32767).expect("valid");
        assert_eq!(a.cidr(), "10.96.0.0/12");
        let a = Allocator::from_cidr("192.168.7.9/24", 1, 2).expect("valid");
        assert_eq!(a.cidr(), "192.168.7.0/24", "host bits are masked");
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "x/12",
            "10.0.0.0/0",
            "10.0.0.0/31",
        ] {
            assert!(Allocator::from_cidr(bad, 30000, 32767).is_err(), "{bad}");
        }
        assert!(Allocator::from_cidr("10.0.0.0/24", 5, 4).is_err());
    }

    #[test]
    fn ports_in_range_until_full() {
        let mut a = small();
        for _ in 0..3 {
            let p = a.allocate_port(None, true).expect("free port");
            assert!((30000..=30002).contains(&p));
        }
        assert_eq!(a.allocate_port(None, true), Err(AllocError::Full));
        let d = Allocator::new(SERVICE_CIDR_BASE, 12, NODE_PORT_MIN, NODE_PORT_MAX);
        assert_eq!(d.cidr(), "10.96.0.0/12");
        assert_eq!(d.port_range(), "30000-32767");
    }

    #[test]
    fn bitmap_is_big_endian_without_leading_zeros() {
        assert!(encode_bitmap([]).is_empty());
        assert_eq!(encode_bitmap([0]), [0x01]);
        assert_eq!(encode_bitmap([0, 9]), [0x02, 0x01]);
        assert_eq!(encode_bitmap([15, 1]), [0x80, 0x02]);
        let mut back = decode_bitmap(&encode_bitmap([3, 2767, 100]));
        back.sort();
        assert_eq!(back, [3, 100, 2767]);
        assert_eq!(decode_bitmap(&[0x00, 0x01]), [0]);
    }
}
