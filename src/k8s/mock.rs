//! A scripted Kubernetes API server for unit tests (as kube-rs tests itself, `mock_tests.rs`):
//! a `kube::Client` over a tower-test mock that expects a sequence of calls, in order, answers
//! each with the reply its script gives, and records every call made. A call the script does
//! not expect next is answered with a 500 and fails the test at `Server::finish`, which also
//! fails when an expected call was never made.
use crate::base::style::ColorChoice;
use crate::k8s::context::Context;
use http::{Request, Response};
use kube::client::Body;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The namespace every scripted call is made in.
pub const NS: &str = "ns";

/// The path of a core (v1) object in NS; `name` "" for the collection.
pub fn core(resource: &str, name: &str) -> String {
    with_name(format!("/api/v1/namespaces/{NS}/{resource}"), name)
}

/// The path of an object of API group `group_version` (e.g. "apps/v1") in NS; `name` "" for
/// the collection.
pub fn apis(group_version: &str, resource: &str, name: &str) -> String {
    with_name(
        format!("/apis/{group_version}/namespaces/{NS}/{resource}"),
        name,
    )
}

fn with_name(collection: String, name: &str) -> String {
    if name.is_empty() {
        collection
    } else {
        format!("{collection}/{name}")
    }
}

/// What the server answers to one call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This HTTP status and JSON body.
    Json(u16, Value),
    /// 200 with the request's own body, as the API server answers a create, replace or apply.
    Echo,
}

/// 200 with `object` (a typed object or JSON).
pub fn ok(object: impl Serialize) -> Reply {
    Reply::Json(
        200,
        serde_json::to_value(object).expect("serializable reply"),
    )
}

/// 200 with a list of `items`.
pub fn list(items: Vec<Value>) -> Reply {
    Reply::Json(
        200,
        json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items }),
    )
}

/// 200 with an empty list.
pub fn empty_list() -> Reply {
    list(vec![])
}

/// 200 with the request's body.
pub fn echo() -> Reply {
    Reply::Echo
}

/// 200 with a Status of success (a delete's answer).
pub fn success() -> Reply {
    Reply::Json(
        200,
        json!({ "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success" }),
    )
}

/// A failure Status with `code`, `reason` and `message`.
pub fn failure(code: u16, reason: &str, message: &str) -> Reply {
    Reply::Json(
        code,
        json!({
            "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
            "code": code, "reason": reason, "message": message,
        }),
    )
}

/// 404 for object `name` of `resource` (plural, e.g. "configmaps").
pub fn not_found(resource: &str, name: &str) -> Reply {
    let Reply::Json(code, mut body) =
        failure(404, "NotFound", &format!("{resource} \"{name}\" not found"))
    else {
        unreachable!()
    };
    body["details"] = json!({ "name": name, "kind": resource });
    Reply::Json(code, body)
}

/// 403 with the API server's `message`.
pub fn forbidden(message: &str) -> Reply {
    failure(403, "Forbidden", message)
}

/// 409: the object changed since it was read, or exists already.
pub fn conflict(message: &str) -> Reply {
    failure(409, "Conflict", message)
}

/// A minimal object of `kind` (`api_version`) named `name`, made by the plugin for cluster
/// `cluster` (its labels, managed-by included).
pub fn managed(api_version: &str, kind: &str, name: &str, cluster: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": { "name": name, "namespace": NS, "uid": format!("uid-{name}"),
                      "labels": crate::manifests::labels(cluster) },
    })
}

/// A minimal object of `kind` named `name` that someone else made (no labels).
pub fn foreign(api_version: &str, kind: &str, name: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": { "name": name, "namespace": NS, "uid": format!("uid-{name}") },
    })
}

/// The spec of a cluster `name` of `replicas` MariaDB members in NS, its primary `NAME-0`.
pub fn cluster_spec(name: &str, replicas: i32) -> crate::manifests::ClusterSpec {
    crate::manifests::ClusterSpec {
        name: name.into(),
        namespace: NS.into(),
        replicas,
        image: "mariadb:10.11".into(),
        storage: "1Gi".into(),
        storage_class: None,
        cpu: None,
        memory: None,
        primary: format!("{name}-0"),
        generation: 3,
        semi_sync: true,
        engine: crate::db::engine::Engine::Mariadb,
        tls: crate::manifests::tls::Tls::Verified,
        tls_ca: None,
    }
}

/// A running, ready member pod `pod` of cluster `cluster`.
pub fn member_pod(cluster: &str, pod: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": pod, "namespace": NS, "labels": crate::manifests::labels(cluster) },
        "status": { "phase": "Running",
                    "conditions": [{ "type": "Ready", "status": "True" }] },
    })
}

/// The credentials Secret of cluster `name` as the API server returns it (its passwords in
/// `data`, freshly generated).
pub fn credentials(name: &str) -> Value {
    let passwords = crate::manifests::Passwords::generate().expect("random passwords");
    let mut secret = crate::manifests::secret(&cluster_spec(name, 1), &passwords, None);
    let values = secret.string_data.take().unwrap_or_default();
    secret.data = Some(
        values
            .into_iter()
            .map(|(k, v)| (k, k8s_openapi::ByteString(v.into_bytes())))
            .collect(),
    );
    serde_json::to_value(secret).expect("a Secret")
}

/// One call the code made: its method, path, decoded query and JSON body (Null when none).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Value,
}

impl Call {
    /// "GET /api/v1/namespaces/ns/configmaps/shop", for asserting the order of calls.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The value of query parameter `key`, if given.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the call asked for a server-side dry run only.
    pub fn is_dry_run(&self) -> bool {
        self.query("dryRun") == Some("All")
    }
}

/// One expected call and its reply.
#[derive(Debug)]
struct Expected {
    method: &'static str,
    path: String,
    /// Query parameters the call must carry (others may be there too).
    query: Vec<(String, String)>,
    reply: Reply,
}

impl Expected {
    fn matches(&self, call: &Call) -> bool {
        self.method == call.method
            && self.path == call.path
            && self
                .query
                .iter()
                .all(|(k, v)| call.query(k) == Some(v.as_str()))
    }

    fn describe(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, query.join("&"))
        }
    }
}

/// The calls a test expects, in order, with their replies.
#[derive(Debug, Default)]
pub struct Script {
    expected: VecDeque<Expected>,
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    /// Expects a GET of `path` (optionally `?key=value&…` that the call must carry).
    pub fn get(self, path: impl AsRef<str>, reply: Reply) -> Self {
        self.expect("GET", path.as_ref(), reply)
    }

    /// Expects a POST (create) to `path`.
    pub fn post(self, path: impl AsRef<str>, reply: Reply) -> Self {
        self.expect("POST", path.as_ref(), reply)
    }

    /// Expects a PUT (replace) of `path`.
    pub fn put(self, path: impl AsRef<str>, reply: Reply) -> Self {
        self.expect("PUT", path.as_ref(), reply)
    }

    /// Expects a PATCH (apply, merge) of `path`.
    pub fn patch(self, path: impl AsRef<str>, reply: Reply) -> Self {
        self.expect("PATCH", path.as_ref(), reply)
    }

    /// Expects a DELETE of `path`.
    pub fn delete(self, path: impl AsRef<str>, reply: Reply) -> Self {
        self.expect("DELETE", path.as_ref(), reply)
    }

    /// Expects what `Cluster::load` reads of cluster `name` (made from `cluster_spec`) with
    /// `replicas` members and primary of record `primary`: its StatefulSet, its ConfigMap, and
    /// its pods, every member's running.
    pub fn cluster_loaded(self, name: &str, replicas: i32, primary: &str) -> Self {
        let mut spec = cluster_spec(name, replicas);
        spec.primary = primary.into();
        let pods = (0..replicas)
            .map(|i| member_pod(name, &format!("{name}-{i}")))
            .collect();
        let selector = crate::manifests::selector_string(name);
        self.get(
            apis("apps/v1", "statefulsets", name),
            ok(crate::manifests::statefulset(&spec)),
        )
        .get(
            core("configmaps", name),
            ok(crate::manifests::config_map(&spec)),
        )
        .get(
            format!("{}?labelSelector={selector}", core("pods", "")),
            list(pods),
        )
    }

    fn expect(mut self, method: &'static str, target: &str, reply: Reply) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        self.expected.push_back(Expected {
            method,
            path: path.to_string(),
            query: pairs(query, false),
            reply,
        });
        self
    }

    /// Starts serving: a client whose calls this script answers, and the server to finish.
    pub fn start(self) -> (kube::Client, Server) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = Arc::new(Mutex::new(State {
            expected: self.expected,
            ..Default::default()
        }));
        let task = tokio::spawn(serve(handle, state.clone()));
        (kube::Client::new(service, NS), Server { state, task })
    }

    /// Starts serving, with a Context on the client in namespace NS (no lock, no events).
    pub fn start_context(self) -> (Context, Server) {
        let (client, server) = self.start();
        (context(client), server)
    }
}

/// A Context on `client` in namespace NS, without lock or events.
pub fn context(client: kube::Client) -> Context {
    Context {
        client,
        namespace: NS.into(),
        lock: None,
        color: ColorChoice::Never,
        events: None,
    }
}

#[derive(Debug, Default)]
struct State {
    expected: VecDeque<Expected>,
    calls: Vec<Call>,
    unexpected: Vec<String>,
}

impl State {
    /// The reply to `call`: the next expected one's, or a 500 when it is not the one expected.
    fn answer(&mut self, call: Call) -> (u16, Value) {
        let reply = match self.expected.front() {
            Some(next) if next.matches(&call) => self.expected.pop_front().map(|e| e.reply),
            next => {
                let wanted = next.map_or("nothing".into(), Expected::describe);
                self.unexpected.push(format!(
                    "{} {:?} (expected {wanted})",
                    call.line(),
                    call.query
                ));
                None
            }
        };
        let answer = match reply {
            Some(Reply::Json(code, body)) => (code, body),
            Some(Reply::Echo) => (200, call.body.clone()),
            None => match failure(500, "InternalError", "unexpected call in a test") {
                Reply::Json(code, body) => (code, body),
                Reply::Echo => unreachable!(),
            },
        };
        self.calls.push(call);
        answer
    }
}

/// The running scripted server.
pub struct Server {
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("mock state").calls.clone()
    }

    /// The calls made so far, as "METHOD path" lines.
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Call::line).collect()
    }

    /// Ends the script: fails the test on an unexpected call or an expected call never made;
    /// returns every call made, in order.
    pub fn finish(self) -> Vec<Call> {
        let state = self.state.lock().expect("mock state");
        assert!(
            state.unexpected.is_empty(),
            "unexpected API calls: {:#?}\ncalls made: {:#?}",
            state.unexpected,
            state.calls.iter().map(Call::line).collect::<Vec<_>>()
        );
        let left: Vec<String> = state.expected.iter().map(Expected::describe).collect();
        assert!(left.is_empty(), "expected API calls never made: {left:#?}");
        state.calls.clone()
    }
}

/// Answers every request the client sends, in the order it sends them.
async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    state: Arc<Mutex<State>>,
) {
    while let Some((request, respond)) = handle.next_request().await {
        let call = call_of(request).await;
        let (code, body) = state.lock().expect("mock state").answer(call);
        let response = Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).expect("JSON reply")))
            .expect("a response");
        respond.send_response(response);
    }
}

async fn call_of(request: Request<Body>) -> Call {
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.unwrap_or_default();
    Call {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: pairs(parts.uri.query().unwrap_or_default(), true),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// `a=1&b=x%2Fy` as pairs, percent-decoded when `encoded`.
fn pairs(query: &str, encoded: bool) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            if encoded {
                (decode(k), decode(v))
            } else {
                (k.to_string(), v.to_string())
            }
        })
        .collect()
}

/// Percent-decoding of a query component ('+' is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{ListParams, PostParams};
    use kube::Api;

    #[test]
    fn a_query_is_percent_decoded() {
        assert_eq!(
            pairs("labelSelector=app%3Dshop%2Cx+y&dryRun=All", true),
            [
                ("labelSelector".to_string(), "app=shop,x y".to_string()),
                ("dryRun".to_string(), "All".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn the_script_answers_the_expected_calls_in_order_and_records_them() {
        let (client, server) = Script::new()
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .post(core("configmaps", ""), echo())
            .get(
                format!("{}?labelSelector=app=shop", core("configmaps", "")),
                empty_list(),
            )
            .start();
        let configs: Api<ConfigMap> = Api::namespaced(client, NS);
        assert!(configs.get_opt("shop").await.unwrap().is_none());
        let mut config = ConfigMap::default();
        config.metadata.name = Some("shop".into());
        let made = configs
            .create(&PostParams::default(), &config)
            .await
            .unwrap();
        assert_eq!(made.metadata.name.as_deref(), Some("shop"));
        let listed = configs
            .list(&ListParams::default().labels("app=shop"))
            .await
            .unwrap();
        assert!(listed.items.is_empty());
        let calls = server.finish();
        assert_eq!(calls[1].body["metadata"]["name"], "shop");
        assert_eq!(calls.len(), 3);
    }

    #[tokio::test]
    #[should_panic(expected = "unexpected API calls")]
    async fn a_call_out_of_script_fails_the_test() {
        let (client, server) = Script::new()
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .start();
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, NS);
        assert!(secrets.get_opt("shop").await.is_err());
        server.finish();
    }

    #[tokio::test]
    #[should_panic(expected = "never made")]
    async fn an_expected_call_never_made_fails_the_test() {
        let (_client, server) = Script::new()
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .start();
        server.finish();
    }
}
