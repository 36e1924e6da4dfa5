//! `kubectl mysqlha rebuild-replica NAME POD`: throw away a replica's data, re-clone it from a
//! healthy donor and rejoin it. The pod serves nothing until it has caught up; an interrupted
//! rebuild is completed by running the command again.
use crate::cli::RebuildArgs;
use crate::clone;
use crate::cluster::{pod_phase, Cluster, PodPhase};
use crate::cmd::confirm;
use crate::context::Context;
use crate::exec;
use crate::manifests::{Passwords, DATA_DIR};
use crate::progress::Progress;
use crate::wait;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::Api;

pub async fn run(ctx: &Context, args: &RebuildArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    cluster.transfer = args.transfer;
    check_target(&cluster, &args.pod)?;
    let donor = match &args.from {
        Some(donor) => {
            check_donor(&cluster, donor, &args.pod).await?;
            donor.clone()
        }
        None => clone::choose_donor(&cluster, &args.pod).await?,
    };
    confirm(
        &format!("Replace all data of {} with a clone of {donor}?", args.pod),
        args.yes,
    )?;
    let passwords = passwords(ctx, &cluster).await?;
    let what = format!("rebuilding {}", args.pod);
    let task = Progress::new().task(&args.pod);
    wait::with_timeout(
        args.timeout,
        &what,
        rebuild(&cluster, &args.pod, &donor, &passwords, &task),
    )
    .await?;
    task.finish("rebuilt");
    println!(
        "replica {} rebuilt from {donor} and replicating from {}",
        args.pod, cluster.primary
    );
    Ok(())
}

pub fn check_target(cluster: &Cluster, pod: &str) -> Result<()> {
    if cluster.member(pod).is_none() {
        let names: Vec<&str> = cluster.members.iter().map(|m| m.name.as_str()).collect();
        bail!(
            "pod {pod} is not a member of cluster {} (members: {})",
            cluster.name,
            names.join(", ")
        );
    }
    if pod == cluster.primary {
        bail!(
            "{pod} is the primary of cluster {}: rebuild-replica only re-clones replicas",
            cluster.name
        );
    }
    Ok(())
}

async fn check_donor(cluster: &Cluster, donor: &str, target: &str) -> Result<()> {
    if donor == target {
        bail!("the donor must not be the pod being rebuilt ({target})");
    }
    let member = cluster
        .member(donor)
        .with_context(|| format!("donor {donor} is not a member of cluster {}", cluster.name))?;
    if pod_phase(member.pod.as_ref()) != (PodPhase::Running { ready: true }) {
        bail!("donor {donor} is not healthy (not ready); pick another with --from or omit it");
    }
    if donor != cluster.primary {
        let state = crate::cluster::observe(cluster.server(donor)).await?;
        if !state
            .replication
            .as_ref()
            .is_some_and(|r| r.io_running == "Yes" && r.sql_running == "Yes")
        {
            bail!("donor {donor} is not healthy (not replicating); pick another with --from or omit it");
        }
    }
    Ok(())
}

pub async fn passwords(ctx: &Context, cluster: &Cluster) -> Result<Passwords> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let secret = secrets
        .get(&format!("{}-credentials", cluster.name))
        .await
        .context("cannot read the credentials Secret")?;
    Passwords::from_secret(&secret).context("the credentials Secret cannot be used")
}

/// Marks the data incomplete (the pod turns unready at once and stays out of service across
/// restarts), restarts the pod into its waiting state, clones and rejoins it.
pub async fn rebuild(
    cluster: &Cluster,
    pod: &str,
    donor: &str,
    passwords: &Passwords,
    task: &crate::progress::Task,
) -> Result<()> {
    // A pod that is (re)starting is waited for: its old data must be marked before it serves.
    let phase = wait::pod_until(&cluster.pods, pod, "starts", |p| {
        matches!(p, PodPhase::WaitingForData | PodPhase::Running { .. })
    })
    .await?;
    if let PodPhase::Running { .. } = phase {
        task.set("taking the replica out of service");
        let marker = format!("{DATA_DIR}/.mysqlha-incomplete");
        exec::run(cluster.server(pod), &["touch", &marker], None)
            .await
            .context("marking the data incomplete")?;
        cluster
            .pods
            .delete(pod, &DeleteParams::default())
            .await
            .context("restarting the pod")?;
        wait::pod_until(&cluster.pods, pod, "waits for data", |p| {
            *p == PodPhase::WaitingForData
        })
        .await?;
    }
    clone::ensure_member_from(cluster, pod, Some(donor), passwords, task).await?;
    clone::catch_up(cluster, pod, task).await
}
