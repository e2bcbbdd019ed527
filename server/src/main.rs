//! `kiln`: start the API server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use kiln::api::RuntimeConfig;
use kiln::app::{self, Config};

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
    /// Storage backend.
    #[arg(long, default_value = "embedded", value_parser = ["embedded"])]
    storage: String,
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
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
    };
    let running = match app::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kiln: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let kubeconfig = args.data_dir.join("admin.kubeconfig");
    if let Err(e) = std::fs::write(&kubeconfig, app::admin_kubeconfig(running.addr)) {
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
    match running.server.await {
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
