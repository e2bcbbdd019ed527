//! `cargo xtask bench`: the release server measured against baselines taken in the same
//! run, on the same machine, with the same load generator.
//!
//! | metric | baseline |
//! |---|---|
//! | GET of one ConfigMap, requests/s, 16 keep-alive connections | a bare actix-web server returning the same bytes |
//! | the same, absolute | a reference kube-apiserver peer (11.2k GET/s with wrk, 2 threads, 16 connections) |
//! | creates/s, 16 concurrent clients | the embedded store's own durable creates/s, 16 tasks |
//! | LIST of 10,000 ConfigMaps as JSON | serde_json serialising the same list in-process |
//! | idle RSS, startup to `/readyz` | absolute limits |
//! | 1,000 watchers on one resource, 100 writes/s: all events seen, p99 delivery, RSS per idle watcher | absolute limits |
//! | creates/s through `kiln --storage=etcd`, 16 concurrent clients | the same create transaction sent straight to the same one-member etcd, 16 tasks (skipped without an `etcd` binary) |
//!
//! The first invocation (from the debug `cargo xtask`) builds `kiln` and this harness in
//! release (feature `bench`) and runs that build, so neither the server, the baselines nor
//! the load generator are measured unoptimised. Everything runs on loopback; each
//! measurement window is `--duration` seconds (default 5) and the whole run takes about a
//! minute and a half once built. Exit status is 0 whatever the results, unless `--strict` is given
//! and a target is missed (1), or the harness itself fails (2).

use std::path::Path;
use std::process::{Command, ExitCode};

#[cfg(feature = "bench")]
mod client;
#[cfg(feature = "bench")]
mod etcd;
#[cfg(feature = "bench")]
mod run;
#[cfg(feature = "bench")]
mod watchers;

const USAGE: &str = "usage: cargo xtask bench [--strict] [--duration SECS] [--only startup,get,create,list,watchers,etcd]";

/// The measurement groups, in run order.
pub const SECTIONS: [&str; 6] = ["startup", "get", "create", "list", "watchers", "etcd"];

/// Options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Exit 1 when a target is missed.
    pub strict: bool,
    /// Seconds per measurement window.
    pub duration: u64,
    /// The groups to run (all of [`SECTIONS`] by default).
    pub only: Vec<String>,
    /// Internal: serve one fixed response (the bare actix-web baseline) and nothing else.
    pub serve_bytes: Option<(String, String, String, String)>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut out = Options {
        strict: false,
        duration: 5,
        only: SECTIONS.map(String::from).to_vec(),
        serve_bytes: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--strict" => out.strict = true,
            "--duration" => {
                let v = it.next().ok_or("--duration needs a value")?;
                out.duration = v
                    .parse()
                    .ok()
                    .filter(|d| *d > 0)
                    .ok_or_else(|| format!("--duration {v:?}: expected whole seconds > 0"))?;
            }
            "--only" => {
                let v = it.next().ok_or("--only needs a value")?;
                out.only = v.split(',').map(str::to_string).collect();
                if let Some(bad) = out.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    return Err(format!("--only {bad:?}: expected some of {SECTIONS:?}"));
                }
            }
            // --serve-bytes ADDR PATH FILE CONTENT-TYPE (used by the harness itself)
            "--serve-bytes" => {
                let mut next = || it.next().cloned().ok_or("--serve-bytes needs 4 values");
                out.serve_bytes = Some((next()?, next()?, next()?, next()?));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(out)
}

/// Entry point of `cargo xtask bench ARGS`.
pub fn main(args: Vec<String>, root: &Path) -> ExitCode {
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if cfg!(feature = "bench") && !cfg!(debug_assertions) {
        return run_here(opts);
    }
    // Not an optimised harness build: build the server and the harness in release, then
    // hand over to that build.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("bench: building kiln and the harness in release (slow the first time)");
    let steps: [&[&str]; 2] = [
        &["build", "--release", "--quiet", "-p", "kiln-server"],
        &[
            "run",
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "--features",
            "bench",
            "--",
            "bench",
        ],
    ];
    for (i, step) in steps.iter().enumerate() {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).args(*step);
        if i == 1 {
            cmd.args(&args);
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                // The release harness's own exit status (1 = a target missed under --strict).
                let code = s.code().unwrap_or(2);
                return ExitCode::from(u8::try_from(code).unwrap_or(2));
            }
            Err(e) => {
                eprintln!("bench: cannot run {cargo}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "bench")]
fn run_here(opts: Options) -> ExitCode {
    if let Some((addr, path, file, content_type)) = &opts.serve_bytes {
        return match run::serve_bytes(addr, path, Path::new(file), content_type) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench --serve-bytes: {e}");
                ExitCode::from(2)
            }
        };
    }
    match run::run(&opts) {
        Ok(rows) => {
            let failed = rows.iter().filter(|r| r.pass == Some(false)).count();
            if failed > 0 && opts.strict {
                eprintln!("bench: {failed} target(s) missed");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "bench"))]
fn run_here(_opts: Options) -> ExitCode {
    // Unreachable: `main` only calls this in a build with the feature.
    ExitCode::from(2)
}
