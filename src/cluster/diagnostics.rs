//! What a support report reads, and only reads: a cluster's objects by label, the events about
//! named objects, the tails of containers' logs, and the answers of a member's server to the
//! engine's report queries; with the plain-text renderings the report files use.
use crate::base::style;
use crate::cluster::sql;
use crate::db::sqltext::Row;
use crate::k8s::exec::Target;
use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{ListParams, LogParams};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

/// Lines of each container's log a report keeps.
pub const LOG_TAIL_LINES: i64 = 500;

/// How long a member's server may take to greet: short, a report must not wait on a frozen
/// server, but a loaded one still answers.
const CONNECT_TIMEOUT: u32 = 5;

/// The longest one report query may take, greeting included.
const QUERY_LIMIT: Duration = Duration::from_secs(30);

/// Objects of kind K in `namespace` matching the label `selector`, without managedFields.
pub async fn list<K>(client: &Client, namespace: &str, selector: &str) -> Result<Vec<K>>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .with_context(|| format!("cannot list {}", K::plural(&Default::default())))?;
    Ok(list.items.into_iter().map(without_managed_fields).collect())
}

/// Object `name` of kind K in `namespace`, if it exists, without managedFields.
pub async fn get<K>(client: &Client, namespace: &str, name: &str) -> Result<Option<K>>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let object = api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read {} {name}", K::kind(&Default::default())))?;
    Ok(object.map(without_managed_fields))
}

/// The object as `kubectl get -o yaml` shows it by default: without managedFields.
pub fn without_managed_fields<K: Resource>(mut object: K) -> K {
    object.meta_mut().managed_fields = None;
    object
}

/// Objects as one YAML stream (`---` between documents).
pub fn yaml_stream<T: Serialize>(objects: &[T]) -> Result<String> {
    let docs = objects
        .iter()
        .map(serde_yaml::to_string)
        .collect::<Result<Vec<_>, _>>()
        .context("cannot render YAML")?;
    Ok(docs.join("---\n"))
}

/// The namespace's events about the objects named `names`, oldest first.
pub async fn events_about(
    client: &Client,
    namespace: &str,
    names: &BTreeSet<String>,
) -> Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .context("cannot list the namespace's events")?;
    let mut events: Vec<Event> = list
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_ref()
                .is_some_and(|n| names.contains(n))
        })
        .collect();
    events.sort_by_key(event_time);
    Ok(events)
}

/// When an event last happened, as RFC 3339 text (sorts in time order).
fn event_time(event: &Event) -> String {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or(event.event_time.as_ref().map(|t| t.0))
        .or(event.first_timestamp.as_ref().map(|t| t.0))
        .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Events as a table: time, type, reason, object, count, message.
pub fn events_table(events: &[&Event]) -> String {
    if events.is_empty() {
        return "(no events: Kubernetes keeps events for about an hour)\n".into();
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let object = &e.involved_object;
            vec![
                event_time(e),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}/{}",
                    object.kind.clone().unwrap_or_default(),
                    object.name.clone().unwrap_or_default()
                ),
                e.count.unwrap_or(1).to_string(),
                e.message.clone().unwrap_or_default().replace('\n', " "),
            ]
        })
        .collect();
    style::columns(
        &["TIME", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"],
        &rows,
    )
}

/// The tail of one container's log, of its current or its previous run.
pub struct LogTail {
    pub container: String,
    pub previous: bool,
    pub text: Result<String>,
}

/// The last LOG_TAIL_LINES lines of every container of `pod` that has run (init containers
/// included), and of its previous run when it restarted.
pub async fn log_tails(pods: &Api<Pod>, pod: &Pod) -> Vec<LogTail> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut wanted = Vec::new();
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        );
    for c in statuses {
        let state = c.state.as_ref();
        let has_run = state.is_some_and(|s| s.running.is_some() || s.terminated.is_some());
        let restarted = c
            .last_state
            .as_ref()
            .is_some_and(|s| s.terminated.is_some());
        if has_run {
            wanted.push((c.name.clone(), false));
        }
        if restarted {
            wanted.push((c.name.clone(), true));
        }
    }
    let tails = wanted.into_iter().map(|(container, previous)| {
        let name = name.clone();
        async move {
            let params = LogParams {
                container: Some(container.clone()),
                previous,
                tail_lines: Some(LOG_TAIL_LINES),
                ..Default::default()
            };
            let text = match pods.logs(&name, &params).await {
                // Gone since it was listed (an agent disabled, a member replaced): nothing
                // was left to collect.
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(format!(
                    "(no log: pod {name} was deleted while this was collected)\n"
                )),
                read => read.with_context(|| {
                    format!(
                        "cannot read the {}log of {name}/{container}",
                        if previous { "previous " } else { "" }
                    )
                }),
            };
            LogTail {
                container,
                previous,
                text,
            }
        }
    });
    futures::future::join_all(tails).await
}

/// The pods of Deployment `CLUSTER-agent` (its ReplicaSets are named `CLUSTER-agent-HASH`),
/// found by owner so that no right beyond listing pods is needed.
pub async fn agent_pods(pods: &Api<Pod>, cluster: &str) -> Result<Vec<Pod>> {
    let prefix = format!("{cluster}-agent-");
    let list = pods
        .list(&ListParams::default())
        .await
        .context("cannot list the namespace's pods")?;
    Ok(list
        .items
        .into_iter()
        .filter(|pod| {
            pod.metadata.owner_references.iter().flatten().any(|owner| {
                owner.kind == "ReplicaSet"
                    && owner
                        .name
                        .strip_prefix(&prefix)
                        .is_some_and(|hash| !hash.is_empty() && !hash.contains('-'))
            })
        })
        .collect())
}

/// Runs one report query on a member's server (failing fast when it does not answer).
pub async fn ask(target: Target<'_>, statement: &str) -> Result<Vec<Row>> {
    let pod = target.pod;
    let sets = tokio::time::timeout(
        QUERY_LIMIT,
        sql::query_sets(target, &[statement], CONNECT_TIMEOUT),
    )
    .await
    .with_context(|| format!("{pod}: no answer within {}s", QUERY_LIMIT.as_secs()))??;
    Ok(sets.into_iter().next().unwrap_or_default())
}

/// Rows as text: `name = value` lines for SHOW VARIABLES / SHOW STATUS, `column: value` lines
/// for a single row (like the client's \G), a table otherwise.
pub fn rows_text(rows: &[Row]) -> String {
    let Some(first) = rows.first() else {
        return "(no rows)\n".into();
    };
    let columns: Vec<&String> = first.keys().collect();
    let name_value = first.contains_key("Variable_name") && first.contains_key("Value");
    if name_value {
        let width = rows
            .iter()
            .map(|r| r["Variable_name"].len())
            .max()
            .unwrap_or(0);
        return rows
            .iter()
            .map(|r| format!("{:<width$} = {}\n", r["Variable_name"], r["Value"]))
            .collect();
    }
    if rows.len() == 1 {
        let width = columns.iter().map(|c| c.len()).max().unwrap_or(0);
        return columns
            .iter()
            .map(|c| format!("{c:>width$}: {}\n", first[*c]))
            .collect();
    }
    let header: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| r.get(*c).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    style::columns(&header, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sqltext::row;

    #[test]
    fn variables_one_row_and_many_rows() {
        let vars = [
            row(&[("Variable_name", "read_only"), ("Value", "ON")]),
            row(&[("Variable_name", "server_id"), ("Value", "2")]),
        ];
        assert_eq!(rows_text(&vars), "read_only = ON\nserver_id = 2\n");
        let one = [row(&[("Slave_IO_Running", "Yes"), ("Last_Error", "")])];
        assert_eq!(
            rows_text(&one),
            "      Last_Error: \nSlave_IO_Running: Yes\n"
        );
        let many = [
            row(&[("Log_name", "mysql-bin.000001"), ("File_size", "1024")]),
            row(&[("Log_name", "mysql-bin.000002"), ("File_size", "12")]),
        ];
        assert_eq!(
            rows_text(&many),
            "File_size  Log_name\n1024       mysql-bin.000001\n12         mysql-bin.000002\n"
        );
        assert_eq!(rows_text(&[]), "(no rows)\n");
    }
}
