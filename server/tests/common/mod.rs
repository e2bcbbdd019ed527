//! Black-box test harness: a real Kiln server on a free loopback port with a scratch data
//! directory, and a small HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;

use kiln::api::RuntimeConfig;
use kiln::app::{self, Config, Running};
use serde_json::Value;

pub struct TestServer {
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with("").await
    }

    pub async fn start_with(runtime_config: &str) -> TestServer {
        Self::start_configured(runtime_config, Default::default()).await
    }

    /// A server with its own `--runtime-config` and service ranges.
    pub async fn start_configured(
        runtime_config: &str,
        services: kiln::kinds::ServiceRanges,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            runtime_config: RuntimeConfig::parse(runtime_config).expect("runtime config"),
            workers: 2,
            storage: Default::default(),
            services,
        };
        let running = app::start(config).await.expect("server starts");
        let addr = running.addr;
        TestServer {
            running: Some(running),
            addr,
            client: reqwest::Client::new(),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Resp {
        self.request_with(method, path, content_type, body, &[])
            .await
    }

    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.bytes().await.expect("body").to_vec();
        Resp {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "POST",
            path,
            Some("application/json"),
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "PUT",
            path,
            Some("application/json"),
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: &Value) -> Resp {
        self.request("PATCH", path, Some(content_type), Some(&body.to_string()))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, None, None).await
    }

    /// Creates a namespace and waits for nothing else.
    pub async fn namespace(&self, name: &str) {
        let r = self
            .post_json(
                "/api/v1/namespaces",
                &serde_json::json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":name}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}
