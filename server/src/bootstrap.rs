//! Objects every cluster has, and the in-process controllers that a cluster runs but
//! nobody would deploy separately for a test API: default service accounts and namespace
//! finalization. They use the same store and watch machinery clients use.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::app::AppState;
use crate::errors::ApiError;
use crate::handlers::normalize;
use crate::objects;
use crate::storage::EventKind;
use crate::store::{self, DeleteOptions, ListOptions, WriteOptions};

/// Namespaces a new cluster starts with.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

fn core(state: &AppState, plural: &str) -> Result<&'static ResourceInfo, ApiError> {
    state
        .api
        .resource("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("core resource {plural} is not served")))
}

/// Creates the system namespaces if they are missing.
pub async fn ensure_namespaces(state: &AppState) -> Result<(), ApiError> {
    let r = core(state, "namespaces")?;
    for name in SYSTEM_NAMESPACES {
        let obj = normalize(
            r,
            json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}}),
        )?;
        match state
            .store
            .create(r, None, obj, &WriteOptions::default())
            .await
        {
            Ok(_) => tracing::info!(namespace = name, "created system namespace"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    load_service_allocations(state).await?;
    ensure_kubernetes_service(state).await?;
    ensure_default_service_cidr(state).await
}

/// Loads the cluster IPs and node ports of every stored service into this server's
/// allocator (the service strategy keeps it current from then on).
async fn load_service_allocations(state: &AppState) -> Result<(), ApiError> {
    let r = core(state, "services")?;
    let prefix = store::collection_prefix(r, None);
    let initial = state
        .store
        .storage
        .range(&prefix, None, 0, None)
        .await
        .map_err(|e| store::storage_error(r, "", e))?;
    let mut services = Vec::with_capacity(initial.kvs.len());
    for kv in &initial.kvs {
        services.push(store::decode_stored(r, kv)?);
    }
    let mut a = state.store.kinds.services.lock();
    a.reset_services();
    for svc in &services {
        crate::kinds::service::observe(&mut a, svc);
    }
    Ok(())
}

/// The `kubernetes` Service in `default`, on the first service address, as a cluster has.
async fn ensure_kubernetes_service(state: &AppState) -> Result<(), ApiError> {
    let r = core(state, "services")?;
    match state.store.get(r, Some("default"), "kubernetes").await {
        Ok(_) => return Ok(()),
        Err(e) if e.code != 404 => return Err(e),
        Err(_) => {}
    }
    let cluster_ip = state.store.kinds.services.lock().first_ip().to_string();
    let obj = normalize(
        r,
        json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"}
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": cluster_ip,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None"
            }
        }),
    )?;
    match state
        .store
        .create(r, Some("default"), obj, &WriteOptions::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        // Its address is taken by another service (kept from an earlier run).
        Err(e) if e.code == 422 => {
            tracing::warn!(error = %e, "cannot create the kubernetes service");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The `kubernetes` ServiceCIDR holding the service range, Ready, as kube-apiserver's
/// default-ServiceCIDR controller keeps it (created, then its status set by
/// `kubernetes-service-cidr-controller`). Skipped when `networking.k8s.io/v1` ServiceCIDRs
/// are not served; an existing one is left as it is.
async fn ensure_default_service_cidr(state: &AppState) -> Result<(), ApiError> {
    let Some(r) = state
        .api
        .resource("networking.k8s.io", "v1", "servicecidrs")
    else {
        return Ok(());
    };
    match state.store.get(r, None, "kubernetes").await {
        Ok(_) => return Ok(()),
        Err(e) if e.code != 404 => return Err(e),
        Err(_) => {}
    }
    let cidr = state.store.kinds.services.lock().cidr();
    let obj = normalize(
        r,
        json!({
            "kind": "ServiceCIDR",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "kubernetes"},
            "spec": {"cidrs": [cidr]}
        }),
    )?;
    match state
        .store
        .create(r, None, obj, &WriteOptions::default())
        .await
    {
        Ok(_) => {}
        Err(e) if e.code == 409 => return Ok(()),
        Err(e) => return Err(e),
    }
    let ready = json!([{
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": crate::objects::now_rfc3339(),
        "reason": "",
        "message": "Kubernetes default Service CIDR is ready"
    }]);
    let set_ready = |old: Option<&Value>| -> Result<Value, ApiError> {
        let mut obj = old
            .cloned()
            .ok_or_else(|| ApiError::not_found(store::qualified(r), "kubernetes"))?;
        if let Value::Object(m) = &mut obj {
            m.insert("status".into(), json!({ "conditions": ready.clone() }));
        }
        normalize(r, obj)
    };
    let write = WriteOptions {
        field_manager: Some("kubernetes-service-cidr-controller".into()),
        ..WriteOptions::default()
    };
    state
        .store
        .update(r, None, "kubernetes", Some("status"), &set_ready, &write)
        .await
        .map(|_| ())
}

/// Starts the in-process controllers.
pub fn spawn_controllers(state: Arc<AppState>) {
    tokio::spawn(async move {
        let terminating = Arc::new(Mutex::new(HashSet::new()));
        loop {
            if let Err(e) = namespace_controller(&state, &terminating).await {
                tracing::warn!(error = %e, "namespace controller restarting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Watches namespaces: active ones get their `default` ServiceAccount; terminating ones
/// are emptied and then finalized.
async fn namespace_controller(
    state: &Arc<AppState>,
    terminating: &Arc<Mutex<HashSet<String>>>,
) -> Result<(), ApiError> {
    let r = core(state, "namespaces")?;
    let prefix = store::collection_prefix(r, None);
    let initial = state
        .store
        .storage
        .range(&prefix, None, 0, None)
        .await
        .map_err(|e| store::storage_error(r, "", e))?;
    for kv in &initial.kvs {
        handle_namespace(state, terminating, &store::decode_stored(r, kv)?).await;
    }
    let mut events = state
        .store
        .storage
        .watch(&prefix, initial.revision)
        .await
        .map_err(|e| store::storage_error(r, "", e))?;
    while let Some(ev) = events.recv().await {
        let ev = ev.map_err(|e| store::storage_error(r, "", e))?;
        if matches!(ev.kind, EventKind::Put) {
            handle_namespace(state, terminating, &store::decode_stored(r, &ev.kv)?).await;
        }
    }
    Ok(())
}

async fn handle_namespace(
    state: &Arc<AppState>,
    terminating: &Arc<Mutex<HashSet<String>>>,
    ns: &Value,
) {
    let name = objects::name(ns).to_string();
    if objects::is_deleting(ns) {
        let mut set = terminating.lock().await;
        if set.insert(name.clone()) {
            let state = state.clone();
            let terminating = terminating.clone();
            tokio::spawn(async move {
                finalize_namespace(&state, &name).await;
                terminating.lock().await.remove(&name);
            });
        }
        return;
    }
    if let Err(e) = ensure_default_service_account(state, &name).await {
        tracing::warn!(namespace = %name, error = %e, "cannot create the default service account");
    }
}

async fn ensure_default_service_account(state: &AppState, ns: &str) -> Result<(), ApiError> {
    let r = core(state, "serviceaccounts")?;
    match state.store.get(r, Some(ns), "default").await {
        Ok(_) => return Ok(()),
        Err(e) if e.code != 404 => return Err(e),
        Err(_) => {}
    }
    let obj = normalize(
        r,
        json!({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "default", "namespace": ns}}),
    )?;
    match state
        .store
        .create(r, Some(ns), obj, &WriteOptions::default())
        .await
    {
        Ok(_) => Ok(()),
        // Already there, or the namespace started terminating meanwhile.
        Err(e) if e.code == 409 || e.code == 403 || e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes everything in a terminating namespace, then removes its `kubernetes` finalizer.
async fn finalize_namespace(state: &AppState, ns: &str) {
    loop {
        match empty_namespace(state, ns).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(namespace = %ns, error = %e, "namespace cleanup failed; retrying")
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let Ok(r) = core(state, "namespaces") else {
        return;
    };
    let mutate = |old: Option<&Value>| -> Result<Value, ApiError> {
        let mut new = old.cloned().unwrap_or(Value::Null);
        if let Some(Value::Array(f)) = new.pointer_mut("/spec/finalizers") {
            f.retain(|v| v != "kubernetes");
        }
        Ok(new)
    };
    match state
        .store
        .update(
            r,
            None,
            ns,
            Some("finalize"),
            &mutate,
            &WriteOptions::default(),
        )
        .await
    {
        Ok(_) => tracing::info!(namespace = %ns, "namespace finalized"),
        Err(e) if e.code == 404 => {}
        Err(e) => tracing::warn!(namespace = %ns, error = %e, "cannot finalize namespace"),
    }
}

/// One cleanup pass; true when nothing is left in the namespace.
async fn empty_namespace(state: &AppState, ns: &str) -> Result<bool, ApiError> {
    let mut seen = BTreeSet::new();
    let mut empty = true;
    for r in state.api.all_resources() {
        if !r.namespaced || !r.has_verb("delete") || !seen.insert(store::resource_prefix(r)) {
            continue;
        }
        let res = state
            .store
            .list(r, Some(ns), &ListOptions::default())
            .await?;
        for obj in res.items {
            empty = false;
            if objects::is_deleting(&obj) {
                continue;
            }
            match state
                .store
                .delete(r, Some(ns), objects::name(&obj), &DeleteOptions::default())
                .await
            {
                Ok(_) => {}
                Err(e) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(empty)
}
