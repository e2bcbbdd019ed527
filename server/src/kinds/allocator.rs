//! Service ClusterIP and NodePort allocation. The index is in memory, loaded from storage
//! at startup and kept in sync by a watch on services (see `bootstrap`), so it survives
//! restarts without extra state. Allocations made by a create that has not been stored yet
//! are held as pending for a short while, so a create that fails later frees them.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng;

/// The default service CIDR: 10.96.0.0/12.
pub const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
pub const SERVICE_CIDR_BITS: u32 = 12;
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;
const PENDING_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
enum Owner {
    Service(String),
    Pending(Instant),
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
    owned: HashMap<String, (Vec<u32>, Vec<u16>)>,
    pending_ttl: Duration,
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
            owned: HashMap::new(),
            pending_ttl: PENDING_TTL,
        }
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

    fn live(&self, o: Option<&Owner>) -> bool {
        match o {
            None => false,
            Some(Owner::Service(_)) => true,
            Some(Owner::Pending(t)) => t.elapsed() < self.pending_ttl,
        }
    }

    /// Allocates `requested`, or a free address when `None`.
    pub fn allocate_ip(&mut self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, AllocError> {
        let now = Owner::Pending(Instant::now());
        if let Some(ip) = requested {
            let v = u32::from(ip);
            let off = v.wrapping_sub(self.base);
            if v < self.base || off == 0 || off >= self.size - 1 {
                return Err(AllocError::NotInRange);
            }
            if self.live(self.ips.get(&v)) {
                return Err(AllocError::Allocated);
            }
            self.ips.insert(v, now);
            return Ok(ip);
        }
        // Like kube, prefer the upper band and leave the lower one for static addresses.
        let usable = self.size.saturating_sub(2);
        let static_band = (usable / 16).clamp(16, 256).min(usable);
        let bands = [(static_band, usable - static_band), (0, static_band)];
        for (start, len) in bands {
            if len == 0 {
                continue;
            }
            let first = rand::rng().random_range(0..len);
            for i in 0..len {
                let v = self.base + 1 + start + (first + i) % len;
                if !self.live(self.ips.get(&v)) {
                    self.ips.insert(v, now);
                    return Ok(Ipv4Addr::from(v));
                }
            }
        }
        Err(AllocError::Full)
    }

    /// Allocates node port `requested`, or a free one when `None`.
    pub fn allocate_port(&mut self, requested: Option<u16>) -> Result<u16, AllocError> {
        let now = Owner::Pending(Instant::now());
        if let Some(p) = requested {
            if p < self.port_min || p > self.port_max {
                return Err(AllocError::NotInRange);
            }
            if self.live(self.ports.get(&p)) {
                return Err(AllocError::Allocated);
            }
            self.ports.insert(p, now);
            return Ok(p);
        }
        let size = u32::from(self.port_max - self.port_min) + 1;
        let static_band = (size / 32).clamp(16, 128).min(size);
        for (start, len) in [(static_band, size - static_band), (0, static_band)] {
            if len == 0 {
                continue;
            }
            let first = rand::rng().random_range(0..len);
            for i in 0..len {
                let p = (u32::from(self.port_min) + start + (first + i) % len) as u16;
                if !self.live(self.ports.get(&p)) {
                    self.ports.insert(p, now);
                    return Ok(p);
                }
            }
        }
        Err(AllocError::Full)
    }

    /// Frees allocations a failed create made.
    pub fn release_pending(&mut self, ips: &[Ipv4Addr], ports: &[u16]) {
        for ip in ips {
            if matches!(self.ips.get(&u32::from(*ip)), Some(Owner::Pending(_))) {
                self.ips.remove(&u32::from(*ip));
            }
        }
        for p in ports {
            if matches!(self.ports.get(p), Some(Owner::Pending(_))) {
                self.ports.remove(p);
            }
        }
    }

    /// Records what a stored service holds (`key` is `namespace/name`).
    pub fn observe(&mut self, key: &str, ips: &[Ipv4Addr], ports: &[u16]) {
        self.release(key);
        let ips: Vec<u32> = ips.iter().map(|ip| u32::from(*ip)).collect();
        for ip in &ips {
            self.ips.insert(*ip, Owner::Service(key.to_string()));
        }
        for p in ports {
            self.ports.insert(*p, Owner::Service(key.to_string()));
        }
        self.owned.insert(key.to_string(), (ips, ports.to_vec()));
    }

    /// Frees what a deleted service held.
    pub fn release(&mut self, key: &str) {
        let owner = Owner::Service(key.to_string());
        if let Some((ips, ports)) = self.owned.remove(key) {
            for ip in ips {
                if self.ips.get(&ip) == Some(&owner) {
                    self.ips.remove(&ip);
                }
            }
            for p in ports {
                if self.ports.get(&p) == Some(&owner) {
                    self.ports.remove(&p);
                }
            }
        }
    }

    /// Forgets every stored service (before a full resync).
    pub fn reset_services(&mut self) {
        self.ips.retain(|_, o| matches!(o, Owner::Pending(_)));
        self.ports.retain(|_, o| matches!(o, Owner::Pending(_)));
        self.owned.clear();
    }
}

/// The process-wide allocator for the default service CIDR and node port range.
pub static ALLOCATOR: LazyLock<Mutex<Allocator>> = LazyLock::new(|| {
    Mutex::new(Allocator::new(
        SERVICE_CIDR_BASE,
        SERVICE_CIDR_BITS,
        NODE_PORT_MIN,
        NODE_PORT_MAX,
    ))
});

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
        let mut seen = std::collections::HashSet::new();
        for _ in 0..6 {
            let ip = a.allocate_ip(None).expect("free address");
            let o = ip.octets();
            assert!((1..=6).contains(&o[3]), "{ip} in range");
            assert!(seen.insert(ip));
        }
        assert_eq!(a.allocate_ip(None), Err(AllocError::Full));
    }

    #[test]
    fn explicit_conflict_release() {
        let mut a = small();
        let ip = Ipv4Addr::new(10, 0, 0, 3);
        assert_eq!(a.allocate_ip(Some(ip)), Ok(ip));
        assert_eq!(a.allocate_ip(Some(ip)), Err(AllocError::Allocated));
        a.observe("ns/s", &[ip], &[30001]);
        assert_eq!(a.allocate_ip(Some(ip)), Err(AllocError::Allocated));
        assert_eq!(a.allocate_port(Some(30001)), Err(AllocError::Allocated));
        a.release("ns/s");
        assert_eq!(a.allocate_ip(Some(ip)), Ok(ip));
        assert_eq!(a.allocate_port(Some(30001)), Ok(30001));
        assert_eq!(
            a.allocate_ip(Some(Ipv4Addr::new(10, 0, 0, 0))),
            Err(AllocError::NotInRange)
        );
        assert_eq!(
            a.allocate_ip(Some(Ipv4Addr::new(10, 0, 0, 7))),
            Err(AllocError::NotInRange)
        );
        assert_eq!(
            a.allocate_ip(Some(Ipv4Addr::new(192, 168, 0, 1))),
            Err(AllocError::NotInRange)
        );
        assert_eq!(a.allocate_port(Some(80)), Err(AllocError::NotInRange));
        assert_eq!(a.cidr(), "10.0.0.0/29");
    }

    #[test]
    fn pending_expires_and_releases() {
        let mut a = small();
        a.pending_ttl = Duration::from_millis(0);
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(a.allocate_ip(Some(ip)), Ok(ip));
        assert_eq!(a.allocate_ip(Some(ip)), Ok(ip), "expired pending is free");
        let mut a = small();
        a.allocate_ip(Some(ip)).expect("free");
        a.release_pending(&[ip], &[]);
        assert_eq!(a.allocate_ip(Some(ip)), Ok(ip));
    }

    #[test]
    fn ports_in_range_until_full() {
        let mut a = small();
        for _ in 0..3 {
            let p = a.allocate_port(None).expect("free port");
            assert!((30000..=30002).contains(&p));
        }
        assert_eq!(a.allocate_port(None), Err(AllocError::Full));
        let d = Allocator::new(SERVICE_CIDR_BASE, 12, NODE_PORT_MIN, NODE_PORT_MAX);
        assert_eq!(d.cidr(), "10.96.0.0/12");
        assert_eq!(d.port_range(), "30000-32767");
    }
}
