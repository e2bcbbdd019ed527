//! Kill -9 durability: every write the server acknowledged survives a SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args([
            "--data-dir",
            &dir.display().to_string(),
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kiln")
}

/// Waits for the "serving" line; stdout keeps being drained so the server never blocks
/// or fails on a full or closed pipe.
fn wait_ready(child: &mut Child) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("serving") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("kiln did not report serving");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = spawn(dir.path(), port);
    wait_ready(&mut child);
    let base = format!("http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let acked = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut acked = Vec::new();
        // Sustained concurrent writes; the server is killed while they are in flight.
        let mut tasks = Vec::new();
        for w in 0..8 {
            let client = client.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..10_000 {
                    let name = format!("w{w}-{i}");
                    let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name},"data":{"i":i.to_string()}});
                    match client.post(&base).json(&body).send().await {
                        Ok(r) if r.status().as_u16() == 201 => mine.push(name),
                        _ => break,
                    }
                }
                mine
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // SIGKILL: no chance to flush anything.
        let _ = child.kill();
        let _ = child.wait();
        for t in tasks {
            if let Ok(mine) = t.await {
                acked.extend(mine);
            }
        }
        acked
    });
    assert!(
        acked.len() > 50,
        "too few writes before the kill: {}",
        acked.len()
    );

    let mut child = spawn(dir.path(), port);
    wait_ready(&mut child);
    let missing = rt.block_on(async {
        let client = reqwest::Client::new();
        let list: serde_json::Value = client
            .get(&base)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let names: std::collections::HashSet<String> = list["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        acked
            .iter()
            .filter(|n| !names.contains(*n))
            .cloned()
            .collect::<Vec<_>>()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

/// SIGTERM: the server stops serving, finishes, exits 0, and its data opens again.
#[test]
fn sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = spawn(dir.path(), port);
    wait_ready(&mut child);
    let base = format!("http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"before-term"}});
        let r = reqwest::Client::new()
            .post(&base)
            .json(&body)
            .send()
            .await
            .expect("create");
        assert_eq!(r.status().as_u16(), 201);
    });
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kiln did not stop within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "kiln exited with {exit} after SIGTERM");
    // No longer listening.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    let mut child = spawn(dir.path(), port);
    wait_ready(&mut child);
    let code = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/before-term"))
            .send()
            .await
            .expect("get")
            .status()
            .as_u16()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        code, 200,
        "the write made before SIGTERM is there after restart"
    );
}
