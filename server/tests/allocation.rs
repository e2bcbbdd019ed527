//! Service cluster IP and node port allocation through storage: `IPAddress` objects and
//! the node port RangeAllocation record, so that several servers on one etcd never hand
//! out the same value (and one server's view of them is only a cache).
//!
//! The etcd tests start their own etcd (`etcd` from PATH) on free loopback ports; without
//! an `etcd` binary they say so and pass without running.

mod common;

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestServer;
use kiln::api::RuntimeConfig;
use kiln::app::{self, Config, StorageConfig};
use kiln::kinds::allocator::{decode_bitmap, encode_bitmap};
use kiln::kinds::service::NODE_PORTS_KEY;
use kiln::storage::EtcdOptions;
use serde_json::{Value, json};

const SVCS: &str = "/api/v1/namespaces/default/services";
const IPS: &str = "/apis/networking.k8s.io/v1/ipaddresses";

fn service(name: &str, ty: &str, cluster_ip: Option<&str>, node_port: Option<u16>) -> Value {
    let mut port = json!({"port": 80});
    if let Some(p) = node_port {
        port["nodePort"] = json!(p);
    }
    let mut spec = json!({"type": ty, "ports": [port]});
    if let Some(ip) = cluster_ip {
        spec["clusterIP"] = json!(ip);
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

fn cluster_ip(svc: &Value) -> String {
    svc["spec"]["clusterIP"].as_str().unwrap_or("").to_string()
}

fn node_port(svc: &Value) -> u64 {
    svc["spec"]["ports"][0]["nodePort"].as_u64().unwrap_or(0)
}

/// The IPAddresses the service allocator manages: name -> `namespace/name` of the parent.
async fn ip_addresses(s: &TestServer) -> Vec<(String, String)> {
    let r = s.get(IPS).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    let mut out = Vec::new();
    for item in list["items"].as_array().cloned().unwrap_or_default() {
        if item["metadata"]["labels"]["ipaddress.kubernetes.io/managed-by"] != "ipallocator.k8s.io"
        {
            continue;
        }
        assert_eq!(
            item["metadata"]["labels"]["ipaddress.kubernetes.io/ip-family"],
            "IPv4"
        );
        assert_eq!(item["spec"]["parentRef"]["resource"], "services");
        out.push((
            item["metadata"]["name"].as_str().unwrap_or("").to_string(),
            format!(
                "{}/{}",
                item["spec"]["parentRef"]["namespace"]
                    .as_str()
                    .unwrap_or(""),
                item["spec"]["parentRef"]["name"].as_str().unwrap_or("")
            ),
        ));
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// One server (embedded store)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cluster_ips_are_ipaddress_objects() {
    let s = TestServer::start().await;
    let r = s
        .post_json(SVCS, &service("web", "ClusterIP", None, None))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ip = cluster_ip(&r.json());
    let ips = ip_addresses(&s).await;
    assert!(
        ips.contains(&(ip.clone(), "default/web".into())),
        "{ips:?} has {ip}"
    );
    assert!(
        ips.contains(&("10.96.0.1".into(), "default/kubernetes".into())),
        "the kubernetes service's address: {ips:?}"
    );
    // `kubectl get ipaddresses` columns.
    let table = s
        .request_with(
            "GET",
            IPS,
            None,
            None,
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        )
        .await;
    assert_eq!(table.status, 200, "{}", table.text());
    let t = table.json();
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(cols, ["Name", "ParentRef"]);
    assert!(
        t["rows"].as_array().is_some_and(|rows| {
            rows.iter().any(|row| {
                row["cells"][0] == ip.as_str() && row["cells"][1] == "services/default/web"
            })
        }),
        "{t}"
    );

    // An address recorded by someone else is taken, though this server never allocated it.
    let foreign = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
        "metadata": {"name": "10.96.7.7"},
        "spec": {"parentRef": {"resource": "services", "namespace": "other", "name": "x"}},
    });
    let r = s.post_json(IPS, &foreign).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .post_json(
            SVCS,
            &service("taken", "ClusterIP", Some("10.96.7.7"), None),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Service \"taken\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.7.7\"}: failed to allocate IP 10.96.7.7: provided IP is already allocated"
    );
    assert!(
        !ip_addresses(&s)
            .await
            .iter()
            .any(|(_, p)| p == "default/taken"),
        "a failed create leaves no IPAddress"
    );

    // Delete releases the address at once; it can be asked for again.
    let r = s.delete(&format!("{SVCS}/web")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.get(&format!("{IPS}/{ip}")).await.status, 404);
    let r = s
        .post_json(SVCS, &service("again", "ClusterIP", Some(&ip), None))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        s.get(&format!("{IPS}/{ip}")).await.json()["spec"]["parentRef"]["name"],
        "again"
    );

    // A validation failure after allocation releases what was reserved.
    let mut bad = service("bad", "ClusterIP", Some("10.96.8.8"), None);
    bad["spec"]["ports"][0]["port"] = json!(0);
    let r = s.post_json(SVCS, &bad).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(s.get(&format!("{IPS}/10.96.8.8")).await.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn node_ports_are_released_with_the_type() {
    let s = TestServer::start().await;
    let r = s
        .post_json(SVCS, &service("np", "NodePort", None, Some(30123)))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .post_json(SVCS, &service("np2", "NodePort", None, Some(30123)))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Service \"np2\" is invalid: spec.ports[0].nodePort: Invalid value: 30123: provided port is already allocated"
    );
    // Dropping the type frees the node port (and keeps the cluster IP).
    let r = s
        .patch(
            &format!("{SVCS}/np"),
            "application/merge-patch+json",
            &json!({"spec": {"type": "ClusterIP"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(node_port(&r.json()), 0);
    let r = s
        .post_json(SVCS, &service("np2", "NodePort", None, Some(30123)))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn concurrent_creates_on_one_server_are_distinct() {
    let s = TestServer::start().await;
    let creates = (0..24).map(|i| {
        let s = &s;
        async move {
            let r = s
                .post_json(SVCS, &service(&format!("s{i}"), "NodePort", None, None))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()
        }
    });
    let made = futures_util::future::join_all(creates).await;
    let ips: HashSet<String> = made.iter().map(cluster_ip).collect();
    let ports: HashSet<u64> = made.iter().map(node_port).collect();
    assert_eq!(ips.len(), 24);
    assert_eq!(ports.len(), 24);
    assert_eq!(
        ip_addresses(&s).await.len(),
        25,
        "24 and the kubernetes service"
    );
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Two servers on one etcd
// ---------------------------------------------------------------------------------------

fn etcd_available() -> bool {
    let found = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "SKIPPED: no `etcd` binary on PATH (Debian: apt-get install etcd-server); \
             the two-replica allocation tests did not run"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A one-member etcd, killed when dropped.
struct Etcd {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Etcd {
    fn start() -> Etcd {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("http://127.0.0.1:{}", free_port());
        let peer = format!("http://127.0.0.1:{}", free_port());
        let child = Command::new("etcd")
            .args(["--name", "m0"])
            .arg("--data-dir")
            .arg(dir.path().join("m0"))
            .args(["--listen-client-urls", &url])
            .args(["--advertise-client-urls", &url])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("m0={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts");
        Etcd {
            url,
            child,
            _dir: dir,
        }
    }

    fn options(&self) -> EtcdOptions {
        EtcdOptions {
            endpoints: vec![self.url.clone()],
            compaction_interval: Duration::ZERO,
            request_timeout: Duration::from_secs(20),
            startup_timeout: Duration::from_secs(30),
            ..Default::default()
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Kiln server on the etcd.
async fn kiln(etcd: &Etcd) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        bind: "127.0.0.1:0".parse().expect("addr"),
        runtime_config: RuntimeConfig::parse("").expect("runtime config"),
        workers: 2,
        storage: StorageConfig::Etcd(etcd.options()),
        services: Default::default(),
    };
    let running = app::start(config).await.expect("server starts on etcd");
    let addr = running.addr;
    TestServer {
        running: Some(running),
        addr,
        client: reqwest::Client::new(),
        dir,
    }
}

async fn raw_client(etcd: &Etcd) -> etcd_client::Client {
    etcd_client::Client::connect([etcd.url.clone()], None)
        .await
        .expect("raw client")
}

/// The node ports the stored RangeAllocation holds.
async fn stored_node_ports(c: &mut etcd_client::Client) -> Vec<u64> {
    use base64::Engine;
    let r = c.get(NODE_PORTS_KEY, None).await.expect("raw get");
    let Some(kv) = r.kvs().first() else {
        return Vec::new();
    };
    let rec: Value = serde_json::from_slice(kv.value()).expect("JSON record");
    assert_eq!(rec["kind"], "RangeAllocation");
    assert_eq!(rec["range"], "30000-32767");
    let data = base64::engine::general_purpose::STANDARD
        .decode(rec["data"].as_str().unwrap_or(""))
        .expect("base64 data");
    let mut ports: Vec<u64> = decode_bitmap(&data)
        .into_iter()
        .map(|o| 30000 + u64::from(o))
        .collect();
    ports.sort();
    ports
}

#[tokio::test]
async fn two_servers_on_one_etcd_never_share_an_allocation() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start();
    let a = kiln(&etcd).await;
    let b = kiln(&etcd).await;
    let servers = [&a, &b];

    // Concurrent creates on both: every cluster IP and node port distinct.
    let creates = (0..30).map(|i| {
        let s = servers[i % 2];
        async move {
            let ty = if i % 3 == 0 { "ClusterIP" } else { "NodePort" };
            let r = s
                .post_json(SVCS, &service(&format!("s{i}"), ty, None, None))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()
        }
    });
    let made = futures_util::future::join_all(creates).await;
    let ips: HashSet<String> = made.iter().map(cluster_ip).collect();
    assert_eq!(ips.len(), 30, "distinct cluster IPs");
    let mut ports: Vec<u64> = made.iter().map(node_port).filter(|p| *p != 0).collect();
    ports.sort();
    assert_eq!(ports.len(), 20);
    assert_eq!(
        ports.iter().collect::<HashSet<_>>().len(),
        20,
        "distinct node ports"
    );
    let mut raw = raw_client(&etcd).await;
    assert_eq!(
        stored_node_ports(&mut raw).await,
        ports,
        "the stored bitmap"
    );
    let recorded = ip_addresses(&b).await;
    assert_eq!(recorded.len(), 31, "30 and the kubernetes service");

    // The same address and node port asked for on both at once: exactly one gets each.
    // Both are ones the dynamic picks above left free (a pick of 31999 among the 20 made
    // the race's loser and winner both fail, as kube-apiserver would too).
    let race_port = (30000..=32767u16)
        .rev()
        .find(|p| !ports.contains(&u64::from(*p)))
        .expect("a free node port");
    let race_ip = (1..=254)
        .map(|i| format!("10.96.44.{i}"))
        .find(|ip| !ips.contains(ip))
        .expect("a free address");
    let race = |name: &'static str, s: &'static str| {
        let server = if s == "a" { &a } else { &b };
        let race_ip = race_ip.clone();
        async move {
            server
                .post_json(
                    SVCS,
                    &service(name, "NodePort", Some(&race_ip), Some(race_port)),
                )
                .await
        }
    };
    let (ra, rb) = tokio::join!(race("ra", "a"), race("rb", "b"));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [201, 422], "{} / {}", ra.text(), rb.text());

    // Dynamic picks that another server holds are skipped: fill all but three node
    // ports behind both servers' backs, then allocate on both.
    let taken: HashSet<u32> = stored_node_ports(&mut raw)
        .await
        .into_iter()
        .map(|p| (p - 30000) as u32)
        .collect();
    let free: Vec<u32> = (0..2768u32)
        .filter(|o| !taken.contains(o))
        .take(3)
        .collect();
    let full = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(encode_bitmap((0..2768u32).filter(|o| !free.contains(o))))
    };
    let record = json!({
        "kind": "RangeAllocation", "apiVersion": "v1", "metadata": {"creationTimestamp": null},
        "range": "30000-32767",
        "data": full,
    });
    raw.put(NODE_PORTS_KEY, record.to_string(), None)
        .await
        .expect("raw put");
    let creates = (0..3).map(|i| {
        let s = servers[i % 2];
        async move {
            let r = s
                .post_json(SVCS, &service(&format!("last{i}"), "NodePort", None, None))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            node_port(&r.json())
        }
    });
    let mut got: Vec<u32> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(|p| (p - 30000) as u32)
        .collect();
    got.sort();
    assert_eq!(got, free, "the three free ports");
    let r = a
        .post_json(SVCS, &service("none-left", "NodePort", None, None))
        .await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("range is full"), "{}", r.text());

    // A release on one server is seen by the other: B deletes what A allocated, then A
    // can have the same address and port again.
    let from_a = made[0].clone();
    let ip = cluster_ip(&made[2]);
    let port = node_port(&made[2]);
    assert_eq!(from_a["metadata"]["name"], "s0");
    let r = b.delete(&format!("{SVCS}/s2")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = a
        .post_json(
            SVCS,
            &service("reuse", "NodePort", Some(&ip), Some(port as u16)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    a.stop().await;
    b.stop().await;
}
