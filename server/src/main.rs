//! `kiln`: start the API server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use kiln::api::RuntimeConfig;
use kiln::app::{self, Config};

#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

/// A Kubernetes API server generated from the published Kubernetes specifications.
#[derive(Debug, Parser)]
#[command(name = "kiln", version)]
struct Args {
    /// Where the embedded store and the admin kubeconfig live.
    #[arg(long, default_value = "./kiln-data")]
    data_dir: PathBuf,
    /// Address and port to serve on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    bind: SocketAddr,
    /// Storage backend: the embedded store in the data directory, or etcd.
    #[arg(long, default_value = "embedded", value_parser = ["embedded", "etcd"])]
    storage: String,
    /// etcd client URLs, comma separated (with --storage=etcd).
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
    etcd_servers: Vec<String>,
    /// Prefix of every key in etcd.
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// TLS: the CA file that signed the etcd servers' certificates.
    #[arg(long)]
    etcd_cafile: Option<PathBuf>,
    /// TLS: client certificate for etcd.
    #[arg(long)]
    etcd_certfile: Option<PathBuf>,
    /// TLS: client key for etcd.
    #[arg(long)]
    etcd_keyfile: Option<PathBuf>,
    /// How often to compact etcd's history (Go duration; 0 = never).
    #[arg(long, default_value = "5m0s", value_parser = kiln::storage::etcd::parse_go_duration)]
    etcd_compaction_interval: std::time::Duration,
    /// CIDR range (IPv4) from which Service cluster IPs are allocated; the first address
    /// goes to the `kubernetes` Service.
    #[arg(long, default_value = "10.96.0.0/12")]
    service_cluster_ip_range: String,
    /// Port range reserved for Services of type NodePort (`30000-32767` or `30000+2767`).
    #[arg(long, default_value = "30000-32767")]
    service_node_port_range: String,
    /// Enable or disable API versions, as kube-apiserver's flag: `api/all=true`,
    /// `api/beta=true`, `resource.k8s.io/v1beta2=true`, `batch/v1=false`.
    #[arg(long, default_value = "")]
    runtime_config: String,
    /// HTTP worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Log verbosity, as kube-apiserver's `-v`: 0-1 info, 2-4 debug, 5+ trace.
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    verbosity: u8,
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let level = match args.verbosity {
        0..=1 => "info",
        2..=4 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},actix_server=warn"))
    });
    // Request logging must not block a worker on a slow stderr, nor cost it a system call
    // per line: lines are appended to a buffer that a background thread writes in batches
    // (`kiln::logwriter`, DECISIONS D34).
    let (writer, log_guard) = match kiln::logwriter::start(std::io::stderr()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("kiln: starting the log writer: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .init();

    let runtime_config = match RuntimeConfig::parse(&args.runtime_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiln: --runtime-config: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let config = Config {
        data_dir: args.data_dir.clone(),
        bind: args.bind,
        runtime_config,
        workers: args.workers,
        storage: match args.storage.as_str() {
            "etcd" => app::StorageConfig::Etcd(kiln::storage::EtcdOptions {
                endpoints: args.etcd_servers.clone(),
                prefix: args.etcd_prefix.clone(),
                ca_file: args.etcd_cafile.clone(),
                cert_file: args.etcd_certfile.clone(),
                key_file: args.etcd_keyfile.clone(),
                compaction_interval: args.etcd_compaction_interval,
                ..Default::default()
            }),
            _ => app::StorageConfig::Embedded,
        },
        services: kiln::kinds::ServiceRanges {
            cluster_ip: args.service_cluster_ip_range.clone(),
            node_ports: args.service_node_port_range.clone(),
        },
    };
    let running = match app::start(config).await {
        Ok(r) => r,
        Err(e) => {
            // The log lines before it first (the guard writes them).
            drop(log_guard);
            eprintln!("kiln: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let kubeconfig = args.data_dir.join("admin.kubeconfig");
    if let Err(e) = std::fs::write(&kubeconfig, app::admin_kubeconfig(running.addr)) {
        drop(log_guard);
        eprintln!("kiln: cannot write {}: {e}", kubeconfig.display());
        return std::process::ExitCode::FAILURE;
    }
    println!(
        "Kiln {} serving Kubernetes {} on http://{}",
        env!("CARGO_PKG_VERSION"),
        kiln_generated::GIT_VERSION,
        running.addr
    );
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get namespaces");
    // actix-web stops gracefully on SIGTERM and SIGINT.
    let served = running.server.await;
    drop(log_guard);
    match served {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("kiln: {e}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("kiln: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
