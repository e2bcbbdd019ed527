//! Printers of cluster-level groups: RBAC, certificates, coordination, scheduling, node,
//! flow control, admission registration, API registration, internal storage versions and
//! dynamic resource allocation. Role and ClusterRole keep the default columns.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::format::{Ctx, arr_at, at, human_seconds, int_at, list_with_more, obj_at, str_at};
use super::{AGE, Col, Desc, Entry, NAME, Printer, col, wide};

pub static PRINTERS: &[Entry] = &[
    Entry {
        group: "rbac.authorization.k8s.io",
        kind: "RoleBinding",
        printer: Printer::new(ROLE_BINDING, binding),
    },
    Entry {
        group: "rbac.authorization.k8s.io",
        kind: "ClusterRoleBinding",
        printer: Printer::new(CLUSTER_ROLE_BINDING, binding),
    },
    Entry {
        group: "certificates.k8s.io",
        kind: "CertificateSigningRequest",
        printer: Printer::new(CSR, csr),
    },
    Entry {
        group: "certificates.k8s.io",
        kind: "ClusterTrustBundle",
        printer: Printer::new(CLUSTER_TRUST_BUNDLE, cluster_trust_bundle),
    },
    Entry {
        group: "coordination.k8s.io",
        kind: "Lease",
        printer: Printer::new(LEASE, lease),
    },
    Entry {
        group: "coordination.k8s.io",
        kind: "LeaseCandidate",
        printer: Printer::new(LEASE_CANDIDATE, lease_candidate),
    },
    Entry {
        group: "scheduling.k8s.io",
        kind: "PriorityClass",
        printer: Printer::new(PRIORITY_CLASS, priority_class),
    },
    Entry {
        group: "node.k8s.io",
        kind: "RuntimeClass",
        printer: Printer::new(RUNTIME_CLASS, runtime_class),
    },
    Entry {
        group: "flowcontrol.apiserver.k8s.io",
        kind: "FlowSchema",
        printer: Printer {
            columns: FLOW_SCHEMA,
            cells: flow_schema,
            conditions: None,
            sort: Some(flow_schema_order),
        },
    },
    Entry {
        group: "flowcontrol.apiserver.k8s.io",
        kind: "PriorityLevelConfiguration",
        printer: Printer::new(PRIORITY_LEVEL, priority_level),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "MutatingWebhookConfiguration",
        printer: Printer::new(WEBHOOKS, webhooks),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "ValidatingWebhookConfiguration",
        printer: Printer::new(WEBHOOKS, webhooks),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "ValidatingAdmissionPolicy",
        printer: Printer::new(VALIDATING_POLICY, validating_policy),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "MutatingAdmissionPolicy",
        printer: Printer::new(MUTATING_POLICY, mutating_policy),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "ValidatingAdmissionPolicyBinding",
        printer: Printer::new(POLICY_BINDING, policy_binding),
    },
    Entry {
        group: "admissionregistration.k8s.io",
        kind: "MutatingAdmissionPolicyBinding",
        printer: Printer::new(POLICY_BINDING, policy_binding),
    },
    Entry {
        group: "apiregistration.k8s.io",
        kind: "APIService",
        printer: Printer::new(API_SERVICE, api_service),
    },
    Entry {
        group: "internal.apiserver.k8s.io",
        kind: "StorageVersion",
        printer: Printer::new(STORAGE_VERSION, storage_version),
    },
    Entry {
        group: "resource.k8s.io",
        kind: "DeviceClass",
        printer: Printer::new(NAME_AGE, name_age),
    },
    Entry {
        group: "resource.k8s.io",
        kind: "ResourceClaimTemplate",
        printer: Printer::new(NAME_AGE, name_age),
    },
    Entry {
        group: "resource.k8s.io",
        kind: "ResourceClaim",
        printer: Printer::new(RESOURCE_CLAIM, resource_claim),
    },
    Entry {
        group: "resource.k8s.io",
        kind: "ResourceSlice",
        printer: Printer::new(RESOURCE_SLICE, resource_slice),
    },
];

fn name(o: &Value) -> Value {
    json!(str_at(o, "metadata/name"))
}

fn age(o: &Value, ctx: &Ctx) -> Value {
    json!(ctx.since(at(o, "metadata/creationTimestamp")))
}

const ROLE_BINDING: &[Col] = &[
    NAME,
    col(
        "Role",
        "string",
        Desc::Field("io.k8s.api.rbac.v1.RoleBinding", "roleRef"),
    ),
    AGE,
    wide("Users", "string", Desc::Text("Users in the roleBinding")),
    wide("Groups", "string", Desc::Text("Groups in the roleBinding")),
    wide(
        "ServiceAccounts",
        "string",
        Desc::Text("ServiceAccounts in the roleBinding"),
    ),
];

const CLUSTER_ROLE_BINDING: &[Col] = &[
    NAME,
    col(
        "Role",
        "string",
        Desc::Field("io.k8s.api.rbac.v1.ClusterRoleBinding", "roleRef"),
    ),
    AGE,
    wide(
        "Users",
        "string",
        Desc::Text("Users in the clusterRoleBinding"),
    ),
    wide(
        "Groups",
        "string",
        Desc::Text("Groups in the clusterRoleBinding"),
    ),
    wide(
        "ServiceAccounts",
        "string",
        Desc::Text("ServiceAccounts in the clusterRoleBinding"),
    ),
];

fn binding(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut users: Vec<String> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut sas: Vec<String> = Vec::new();
    for s in arr_at(o, "subjects") {
        match str_at(s, "kind") {
            "ServiceAccount" => {
                sas.push(format!("{}/{}", str_at(s, "namespace"), str_at(s, "name")))
            }
            "User" => users.push(str_at(s, "name").to_string()),
            "Group" => groups.push(str_at(s, "name").to_string()),
            _ => {}
        }
    }
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            str_at(o, "roleRef/kind"),
            str_at(o, "roleRef/name")
        )),
        age(o, ctx),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

const CSR: &[Col] = &[
    NAME,
    AGE,
    col(
        "SignerName",
        "string",
        Desc::Field(
            "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
            "signerName",
        ),
    ),
    col(
        "Requestor",
        "string",
        Desc::Field(
            "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
            "request",
        ),
    ),
    col(
        "RequestedDuration",
        "string",
        Desc::Field(
            "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
            "expirationSeconds",
        ),
    ),
    col(
        "Condition",
        "string",
        Desc::Field(
            "io.k8s.api.certificates.v1.CertificateSigningRequestStatus",
            "conditions",
        ),
    ),
];

fn csr(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (mut approved, mut denied, mut failed) = (false, false, false);
    for c in arr_at(o, "status/conditions") {
        match str_at(c, "type") {
            "Approved" => approved = true,
            "Denied" => denied = true,
            "Failed" => failed = true,
            _ => {}
        }
    }
    let mut status = if denied {
        "Denied"
    } else if approved {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if failed {
        status.push_str(",Failed");
    }
    if !str_at(o, "status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    let signer = str_at(o, "spec/signerName");
    let duration = at(o, "spec/expirationSeconds")
        .and_then(Value::as_i64)
        .map(human_seconds)
        .unwrap_or_else(|| "<none>".to_string());
    vec![
        name(o),
        age(o, ctx),
        json!(if signer.is_empty() { "<none>" } else { signer }),
        json!(str_at(o, "spec/username")),
        json!(duration),
        json!(status),
    ]
}

const CLUSTER_TRUST_BUNDLE: &[Col] = &[
    NAME,
    col(
        "SignerName",
        "string",
        Desc::Field(
            "io.k8s.api.certificates.v1beta1.ClusterTrustBundleSpec",
            "signerName",
        ),
    ),
];

fn cluster_trust_bundle(o: &Value, _ctx: &Ctx) -> Vec<Value> {
    let signer = str_at(o, "spec/signerName");
    vec![
        name(o),
        json!(if signer.is_empty() { "<none>" } else { signer }),
    ]
}

const LEASE: &[Col] = &[
    NAME,
    col(
        "Holder",
        "string",
        Desc::Field("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity"),
    ),
    AGE,
];

fn lease(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(str_at(o, "spec/holderIdentity")),
        age(o, ctx),
    ]
}

const LEASE_CANDIDATE: &[Col] = &[
    NAME,
    col(
        "LeaseName",
        "string",
        Desc::Field(
            "io.k8s.api.coordination.v1beta1.LeaseCandidateSpec",
            "leaseName",
        ),
    ),
    // kube looks these descriptions up on ObjectMeta, which has no such fields.
    col("BinaryVersion", "string", Desc::Text("")),
    col("EmulationVersion", "string", Desc::Text("")),
    AGE,
];

fn lease_candidate(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(str_at(o, "spec/leaseName")),
        json!(str_at(o, "spec/binaryVersion")),
        json!(str_at(o, "spec/emulationVersion")),
        age(o, ctx),
    ]
}

const PRIORITY_CLASS: &[Col] = &[
    NAME,
    col(
        "Value",
        "integer",
        Desc::Field("io.k8s.api.scheduling.v1.PriorityClass", "value"),
    ),
    col(
        "Global-Default",
        "boolean",
        Desc::Field("io.k8s.api.scheduling.v1.PriorityClass", "globalDefault"),
    ),
    AGE,
    col(
        "PreemptionPolicy",
        "string",
        Desc::Field("io.k8s.api.scheduling.v1.PriorityClass", "preemptionPolicy"),
    ),
];

fn priority_class(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(int_at(o, "value")),
        json!(
            o.get("globalDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
        age(o, ctx),
        json!(str_at(o, "preemptionPolicy")),
    ]
}

const RUNTIME_CLASS: &[Col] = &[
    NAME,
    // kube looks this description up on ObjectMeta, which has no `handler`.
    col("Handler", "string", Desc::Text("")),
    AGE,
];

fn runtime_class(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(o), json!(str_at(o, "handler")), age(o, ctx)]
}

const FLOW_SCHEMA: &[Col] = &[
    NAME,
    col(
        "PriorityLevel",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationReference",
            "name",
        ),
    ),
    col(
        "MatchingPrecedence",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.FlowSchemaSpec",
            "matchingPrecedence",
        ),
    ),
    col(
        "DistinguisherMethod",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.FlowSchemaSpec",
            "distinguisherMethod",
        ),
    ),
    AGE,
    col(
        "MissingPL",
        "string",
        Desc::Text("references a broken or non-existent PriorityLevelConfiguration"),
    ),
];

fn flow_schema(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let distinguisher = at(o, "spec/distinguisherMethod")
        .filter(|v| v.is_object())
        .map(|d| str_at(d, "type").to_string())
        .unwrap_or_else(|| "<none>".to_string());
    let missing = arr_at(o, "status/conditions")
        .iter()
        .find(|c| str_at(c, "type") == "Dangling")
        .map(|c| str_at(c, "status").to_string())
        .unwrap_or_else(|| "?".to_string());
    vec![
        name(o),
        json!(str_at(o, "spec/priorityLevelConfiguration/name")),
        json!(int_at(o, "spec/matchingPrecedence")),
        json!(distinguisher),
        age(o, ctx),
        json!(missing),
    ]
}

/// FlowSchemas list in matching order: precedence, then name.
fn flow_schema_order(a: &Value, b: &Value) -> Ordering {
    int_at(a, "spec/matchingPrecedence")
        .cmp(&int_at(b, "spec/matchingPrecedence"))
        .then_with(|| str_at(a, "metadata/name").cmp(str_at(b, "metadata/name")))
}

const PRIORITY_LEVEL: &[Col] = &[
    NAME,
    col(
        "Type",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationSpec",
            "type",
        ),
    ),
    col(
        "NominalConcurrencyShares",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.LimitedPriorityLevelConfiguration",
            "nominalConcurrencyShares",
        ),
    ),
    col(
        "Queues",
        "string",
        Desc::Field("io.k8s.api.flowcontrol.v1.QueuingConfiguration", "queues"),
    ),
    col(
        "HandSize",
        "string",
        Desc::Field("io.k8s.api.flowcontrol.v1.QueuingConfiguration", "handSize"),
    ),
    col(
        "QueueLengthLimit",
        "string",
        Desc::Field(
            "io.k8s.api.flowcontrol.v1.QueuingConfiguration",
            "queueLengthLimit",
        ),
    ),
    AGE,
];

fn priority_level(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let none = json!("<none>");
    let (mut ncs, mut queues, mut hand, mut limit) =
        (none.clone(), none.clone(), none.clone(), none);
    if let Some(limited) = at(o, "spec/limited").filter(|v| v.is_object()) {
        ncs = json!(int_at(limited, "nominalConcurrencyShares"));
        if let Some(q) = at(limited, "limitResponse/queuing").filter(|v| v.is_object()) {
            queues = json!(int_at(q, "queues"));
            hand = json!(int_at(q, "handSize"));
            limit = json!(int_at(q, "queueLengthLimit"));
        }
    }
    vec![
        name(o),
        json!(str_at(o, "spec/type")),
        ncs,
        queues,
        hand,
        limit,
        age(o, ctx),
    ]
}

const WEBHOOKS: &[Col] = &[
    NAME,
    col(
        "Webhooks",
        "integer",
        Desc::Text("Webhooks indicates the number of webhooks registered in this configuration"),
    ),
    AGE,
];

fn webhooks(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(o), json!(arr_at(o, "webhooks").len()), age(o, ctx)]
}

const PARAM_KIND: Desc =
    Desc::Text("ParamKind specifies the kind of resources used to parameterize this policy");

const VALIDATING_POLICY: &[Col] = &[
    NAME,
    col(
        "Validations",
        "integer",
        Desc::Text(
            "Validations indicates the number of validation rules defined in this configuration",
        ),
    ),
    col("ParamKind", "string", PARAM_KIND),
    AGE,
];

const MUTATING_POLICY: &[Col] = &[
    NAME,
    col(
        "Mutations",
        "integer",
        Desc::Text(
            "Mutation indicates the number of mutations rules defined in this configuration",
        ),
    ),
    col("ParamKind", "string", PARAM_KIND),
    AGE,
];

fn param_kind(o: &Value) -> String {
    match at(o, "spec/paramKind").filter(|v| v.is_object()) {
        Some(p) => format!("{}/{}", str_at(p, "apiVersion"), str_at(p, "kind")),
        None => "<unset>".to_string(),
    }
}

fn validating_policy(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(arr_at(o, "spec/validations").len()),
        json!(param_kind(o)),
        age(o, ctx),
    ]
}

fn mutating_policy(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(arr_at(o, "spec/mutations").len()),
        json!(param_kind(o)),
        age(o, ctx),
    ]
}

const POLICY_BINDING: &[Col] = &[
    NAME,
    col(
        "PolicyName",
        "string",
        Desc::Text("PolicyName indicates the policy definition which the policy binding binded to"),
    ),
    col(
        "ParamRef",
        "string",
        Desc::Text("ParamRef indicates the param resource which sets the configration param"),
    ),
    AGE,
];

/// The generated Go `String()` of a `metav1.LabelSelector` (the form kube prints for a
/// binding's selector-based paramRef).
fn go_label_selector_string(sel: &Value) -> String {
    let mut out = String::from("&LabelSelector{MatchLabels:map[string]string{");
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        for k in keys {
            let v = labels.get(k).and_then(Value::as_str).unwrap_or("");
            out.push_str(&format!("{k}: {v},"));
        }
    }
    out.push_str("},MatchExpressions:[]LabelSelectorRequirement{");
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let values: Vec<&str> = arr_at(e, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        out.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
            str_at(e, "key"),
            str_at(e, "operator"),
            values.join(" ")
        ));
    }
    out.push_str("},}");
    out
}

fn policy_binding(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let param = match at(o, "spec/paramRef").filter(|v| v.is_object()) {
        Some(p) => {
            let pname = str_at(p, "name");
            let ns = str_at(p, "namespace");
            if !pname.is_empty() {
                if ns.is_empty() {
                    format!("*/{pname}")
                } else {
                    format!("{ns}/{pname}")
                }
            } else if let Some(sel) = p.get("selector").filter(|v| v.is_object()) {
                go_label_selector_string(sel)
            } else {
                "<unset>".to_string()
            }
        }
        None => "<unset>".to_string(),
    };
    vec![
        name(o),
        json!(str_at(o, "spec/policyName")),
        json!(param),
        age(o, ctx),
    ]
}

const API_SERVICE: &[Col] = &[
    NAME,
    col(
        "Service",
        "string",
        Desc::Text("The reference to the service that hosts this API endpoint."),
    ),
    col(
        "Available",
        "string",
        Desc::Text("Whether this service is available."),
    ),
    AGE,
];

fn api_service(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let service = match at(o, "spec/service").filter(|v| v.is_object()) {
        Some(s) => format!("{}/{}", str_at(s, "namespace"), str_at(s, "name")),
        None => "Local".to_string(),
    };
    let available = match arr_at(o, "status/conditions")
        .iter()
        .find(|c| str_at(c, "type") == "Available")
    {
        Some(c) => {
            let status = str_at(c, "status");
            let reason = str_at(c, "reason");
            if status == "True" || reason.is_empty() {
                status.to_string()
            } else {
                format!("{status} ({reason})")
            }
        }
        None => "Unknown".to_string(),
    };
    vec![name(o), json!(service), json!(available), age(o, ctx)]
}

const STORAGE_VERSION: &[Col] = &[
    NAME,
    col(
        "CommonEncodingVersion",
        "string",
        Desc::Field(
            "io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus",
            "commonEncodingVersion",
        ),
    ),
    col(
        "StorageVersions",
        "string",
        Desc::Field(
            "io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus",
            "storageVersions",
        ),
    ),
    AGE,
];

fn storage_version(o: &Value, ctx: &Ctx) -> Vec<Value> {
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for sv in arr_at(o, "status/storageVersions") {
        if list.len() < MAX {
            list.push(format!(
                "{}={}",
                str_at(sv, "apiServerID"),
                str_at(sv, "encodingVersion")
            ));
        } else if list.len() == MAX {
            more = true;
        }
        count += 1;
    }
    let common = at(o, "status/commonEncodingVersion")
        .and_then(Value::as_str)
        .unwrap_or("<unset>");
    vec![
        name(o),
        json!(common),
        json!(list_with_more(&list, more, count, MAX)),
        age(o, ctx),
    ]
}

const NAME_AGE: &[Col] = &[NAME, AGE];

fn name_age(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(o), age(o, ctx)]
}

const RESOURCE_CLAIM: &[Col] = &[
    NAME,
    col(
        "State",
        "string",
        Desc::Text("A summary of the current state (allocated, pending, reserved, etc.)."),
    ),
    AGE,
];

fn resource_claim(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let deleted = at(o, "metadata/deletionTimestamp").is_some_and(|v| !v.is_null());
    let mut states: Vec<&str> = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if obj_at(o, "status/allocation").is_none() {
        if !deleted {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr_at(o, "status/reservedFor").is_empty() {
            states.push("reserved");
        }
    }
    vec![name(o), json!(states.join(",")), age(o, ctx)]
}

const RESOURCE_SLICE: &[Col] = &[
    NAME,
    col(
        "Node",
        "string",
        Desc::Field("io.k8s.api.resource.v1.ResourceSliceSpec", "nodeName"),
    ),
    col(
        "Driver",
        "string",
        Desc::Field("io.k8s.api.resource.v1.ResourceSliceSpec", "driver"),
    ),
    col(
        "Pool",
        "string",
        Desc::Field("io.k8s.api.resource.v1.ResourcePool", "name"),
    ),
    AGE,
];

fn resource_slice(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(str_at(o, "spec/nodeName")),
        json!(str_at(o, "spec/driver")),
        json!(str_at(o, "spec/pool/name")),
        age(o, ctx),
    ]
}
