//! Rolling changes of a running cluster (`upgrade`, `set`): the members that need it are
//! restarted on the StatefulSet's current template, replicas first and one at a time, each back
//! in replication and caught up before the next; the primary last, after a switchover to a
//! restarted replica, so writes are refused only during that one switchover. Run again after an
//! interruption, it restarts only what still needs it and finishes.
use crate::base::progress::{Progress, Task};
use crate::cluster::{Cluster, Member};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::Passwords;
use crate::{k8s::exec, k8s::wait, ops::clone, ops::plan, ops::switchover};
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::Api;
use std::time::Duration;

/// What a roll did.
#[derive(Default)]
pub struct Rolled {
    pub restarted: Vec<String>,
    /// (old primary, new primary, how long writes were refused)
    pub switchover: Option<(String, String, Duration)>,
}

/// The image the server container of `member`'s pod runs (None: no pod).
pub fn pod_image(member: &Member) -> Option<String> {
    crate::cluster::server_image(member.pod.as_ref()?.spec.as_ref()?)
}

/// Patches the StatefulSet's pod template (a strategic merge patch of `template_spec`); pods
/// are not touched (the update strategy is OnDelete).
pub async fn patch_template(cluster: &Cluster, template_spec: serde_json::Value) -> Result<()> {
    patch_template_part(cluster, serde_json::json!({ "spec": template_spec })).await
}

/// Sets an annotation of the StatefulSet's pod template (pods are not touched): pods made before
/// lack it (see `pod_annotation`).
pub async fn annotate_template(cluster: &Cluster, key: &str, value: &str) -> Result<()> {
    let metadata = serde_json::json!({ "annotations": { key: value } });
    patch_template_part(cluster, serde_json::json!({ "metadata": metadata })).await
}

/// The StatefulSet's pod template's annotation `key`.
pub fn template_annotation(cluster: &Cluster, key: &str) -> Option<String> {
    let template = &cluster.statefulset.spec.as_ref()?.template;
    template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(key)
        .cloned()
}

/// The annotation `key` of `member`'s pod (None: no pod, or no such annotation).
pub fn pod_annotation(member: &Member, key: &str) -> Option<String> {
    let annotations = member.pod.as_ref()?.metadata.annotations.as_ref()?;
    annotations.get(key).cloned()
}

async fn patch_template_part(cluster: &Cluster, template: serde_json::Value) -> Result<()> {
    let statefulsets: Api<StatefulSet> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let patch = serde_json::json!({ "spec": { "template": template } });
    statefulsets
        .patch(
            &cluster.name,
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .with_context(|| {
            format!(
                "cannot update the pod template of StatefulSet {}",
                cluster.name
            )
        })?;
    Ok(())
}

/// Rolls the members for which `needs_restart` holds; `upgrade_step` runs the engine's upgrade
/// step (e.g. mariadb-upgrade) on every member after its restart (and, for a re-run, on members
/// restarted before).
pub async fn roll(
    ctx: &Context,
    cluster: &mut Cluster,
    passwords: &Passwords,
    upgrade_step: bool,
    needs_restart: impl Fn(&Member) -> bool,
) -> Result<Rolled> {
    let progress = Progress::new();
    let mut rolled = Rolled::default();
    let replicas: Vec<String> = cluster
        .members
        .iter()
        .filter(|m| m.name != cluster.primary)
        .map(|m| m.name.clone())
        .collect();
    for pod in &replicas {
        let task = progress.task(pod);
        if cluster.member(pod).is_some_and(&needs_restart) {
            restart(ctx, cluster, pod, &task).await?;
            rolled.restarted.push(pod.clone());
        }
        rejoin(cluster, pod, upgrade_step, &task).await?;
        task.finish("caught up");
    }
    cluster.refresh().await?;
    let old = cluster.primary.clone();
    if cluster.member(&old).is_some_and(&needs_restart) {
        let target = plan::switchover::plan(cluster, None).await.go_ahead()?;
        if cluster.member(&target).is_some_and(&needs_restart) {
            bail!(
                "no replica of cluster {} has the change yet to take over from {old}",
                cluster.name
            );
        }
        let task = progress.task(&format!("{old} → {target}"));
        ctx.member_event(
            &target,
            Reason::CandidateChosen,
            format!("{target} is to become the primary while {old} restarts"),
        );
        let window =
            switchover::move_primary(ctx, cluster, &old, &target, passwords, &task).await?;
        task.finish("switched over");
        cluster.primary = target.clone();
        rolled.switchover = Some((old.clone(), target.clone(), window));
        let task = progress.task(&old);
        until_role_record_seen(cluster, &old, &target, &task).await?;
        restart(ctx, cluster, &old, &task).await?;
        rolled.restarted.push(old.clone());
        rejoin(cluster, &old, upgrade_step, &task).await?;
        task.finish("caught up");
    } else if upgrade_step {
        let task = progress.task(&old);
        run_upgrade_step(cluster, &old, &task).await?;
        task.finish("done");
    }
    for m in &cluster.members {
        wait::until_ready(&cluster.pods, &m.name).await?;
    }
    Ok(rolled)
}

/// Waits until `pod`'s mounted copy of the ConfigMap names `primary` (the kubelet refreshes
/// mounted ConfigMaps on its own schedule): only then can its restart not start it in its old
/// role, writable beside the new primary.
async fn until_role_record_seen(
    cluster: &Cluster,
    pod: &str,
    primary: &str,
    task: &Task,
) -> Result<()> {
    task.set("waiting until its node sees the new primary of record");
    let record = format!(
        "{}/{}",
        crate::manifests::SCRIPTS_DIR,
        crate::manifests::PRIMARY_KEY
    );
    wait::retry(
        Duration::from_secs(120),
        &format!("{pod} sees {primary} as the primary of record"),
        || async {
            let out = exec::run(cluster.server(pod), &["cat", &record], None).await?;
            if out.stdout.trim() == primary {
                Ok(())
            } else {
                bail!(
                    "{pod}'s copy of the record still names {}",
                    out.stdout.trim()
                )
            }
        },
    )
    .await
}

/// The longest a deleted member's pod may take to be made anew by its StatefulSet.
const REMADE_LIMIT: Duration = Duration::from_secs(600);

/// Deletes `pod` and waits until the StatefulSet's new pod runs its server.
async fn restart(ctx: &Context, cluster: &Cluster, pod: &str, task: &Task) -> Result<()> {
    task.set("restarting");
    let uid_of = |p: Option<k8s_openapi::api::core::v1::Pod>| p.and_then(|p| p.metadata.uid);
    let old_uid = uid_of(
        cluster
            .pods
            .get_opt(pod)
            .await
            .with_context(|| format!("cannot read pod {pod}"))?,
    );
    ctx.ensure_lock_held()?;
    cluster
        .pods
        .delete(pod, &DeleteParams::default())
        .await
        .with_context(|| format!("cannot restart pod {pod}"))?;
    ctx.member_event(
        pod,
        Reason::Restarting,
        format!("{pod} restarts on the StatefulSet's current template"),
    );
    let (pods, old_uid) = (&cluster.pods, &old_uid);
    let anew = format!("the StatefulSet makes pod {pod} anew");
    wait::until_some(REMADE_LIMIT, &anew, || async move {
        let uid = uid_of(
            pods.get_opt(pod)
                .await
                .with_context(|| format!("cannot read pod {pod}"))?,
        );
        if uid.is_some() && uid != *old_uid {
            return Ok(Some(()));
        }
        wait::note(match uid {
            None => format!("pod {pod} does not exist yet"),
            Some(_) => format!("pod {pod} is still the deleted one"),
        });
        Ok(None)
    })
    .await?;
    task.set("starting");
    wait::until_server_runs(&cluster.pods, pod).await
}

/// After a restart: the engine's upgrade step if asked, then ready (replicating) and caught up.
async fn rejoin(cluster: &Cluster, pod: &str, upgrade_step: bool, task: &Task) -> Result<()> {
    if upgrade_step {
        run_upgrade_step(cluster, pod, task).await?;
    }
    task.set("waiting until it replicates");
    wait::until_ready(&cluster.pods, pod).await?;
    clone::catch_up(cluster, pod, task).await
}

/// The engine's upgrade step (MariaDB: mariadb-upgrade, a no-op once done), retried while the
/// server is still starting.
async fn run_upgrade_step(cluster: &Cluster, pod: &str, task: &Task) -> Result<()> {
    let Some(command) = cluster.engine.upgrade_step_command() else {
        return Ok(());
    };
    task.set(&format!("running {}", command[0]));
    wait::retry(
        Duration::from_secs(120),
        &format!("running {} on {pod}", command[0]),
        || async {
            exec::run(cluster.server(pod), command, None)
                .await
                .map(|_| ())
        },
    )
    .await
    .with_context(|| format!("{pod}: {} failed", command[0]))?;
    Ok(())
}
