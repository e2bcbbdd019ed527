//! Project automation.
//!
//! ```text
//! cargo xtask regen [--release 1.NN] [--check] [--quiet]
//! cargo xtask bench [--strict] [--duration SECS]
//! ```
//!
//! `regen` writes `generated/src/v1_NN/**` and `generated/src/lib.rs` from
//! `schemas/v1.NN` (default release: 1.36). `--check` regenerates every release present
//! under `generated/src` in memory and fails with a summary of what differs.
//!
//! `bench` measures the release server against baselines taken in the same run (see
//! `bench.rs`).

mod bench;

// The in-process baselines of `bench` run with the allocator `kiln` runs with.
#[cfg(feature = "bench")]
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use kiln_codegen::regen::{self, Progress, Workspace};

const USAGE: &str = "usage: cargo xtask regen [--release 1.NN] [--check] [--quiet]\n       cargo xtask bench [--strict] [--duration SECS]";

struct Args {
    release: Option<String>,
    check: bool,
    quiet: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    match args.next().as_deref() {
        Some("regen") => {}
        Some("-h" | "--help") | None => return Err(USAGE.to_string()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    }
    let mut out = Args {
        release: None,
        check: false,
        quiet: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => out.check = true,
            "--quiet" | "-q" => out.quiet = true,
            "--release" => {
                out.release = Some(
                    args.next()
                        .ok_or_else(|| format!("--release needs a value\n{USAGE}"))?,
                )
            }
            s if s.starts_with("--release=") => {
                out.release = Some(s["--release=".len()..].to_string())
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if let Some(r) = &out.release {
        let r = r.trim_start_matches('v').to_string();
        if kiln_codegen::load::release_minor(&r).is_none() {
            return Err(format!("--release {r:?}: expected 1.NN\n{USAGE}"));
        }
        out.release = Some(r);
    }
    Ok(out)
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("bench") {
        return bench::main(std::env::args().skip(2).collect(), &workspace_root());
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let ws = Workspace::new(workspace_root());
    let progress = Progress {
        enabled: !args.quiet,
    };
    let start = Instant::now();
    if args.check {
        progress.say("regen --check: regenerating in memory");
        match regen::check(&ws, args.release.as_deref(), progress) {
            Ok(report) if report.is_clean() => {
                progress.say(&format!(
                    "{report} in {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
                ExitCode::SUCCESS
            }
            Ok(report) => {
                eprintln!("{report}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        let release = args
            .release
            .unwrap_or_else(|| regen::DEFAULT_RELEASE.to_string());
        progress.say(&format!("regen {release}"));
        match regen::regen(&ws, &release, progress) {
            Ok(summary) => {
                progress.say(&regen::notes_summary(&release, &summary.notes));
                progress.say(&format!("done in {:.1} s", start.elapsed().as_secs_f64()));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
