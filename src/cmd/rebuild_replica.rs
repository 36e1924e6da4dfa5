//! `kubectl mysqlha rebuild-replica NAME POD`: throw away a replica's data, re-clone it from a
//! healthy donor and rejoin it. The pod serves nothing until it has caught up; an interrupted
//! rebuild is completed by running the command again. With --lost-node the member first moves
//! off its lost node: a new claim and pod on a live node, then the clone.
use crate::base::progress::Progress;
use crate::cli::RebuildArgs;
use crate::cluster::{pod_phase, Cluster, PodPhase};
use crate::cmd::confirm;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::ops::clone;
use crate::ops::member_services;
use crate::ops::placement;
use anyhow::{bail, Context as _, Result};

pub async fn run(ctx: &Context, args: &RebuildArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    cluster.transfer = args.transfer;
    check_target(&cluster, &args.pod)?;
    let lost = match args.lost_node {
        true => Some(placement::confirm_node_lost(&cluster, &args.pod).await?),
        false => None,
    };
    let donor = match &args.from {
        Some(donor) => {
            check_donor(&cluster, donor, &args.pod).await?;
            donor.clone()
        }
        None => clone::choose_donor(&cluster, &args.pod).await?,
    };
    let question = match &lost {
        Some((node, why)) => format!(
            "{why}. Move {} off {node}: delete its claim and pod there for good and clone it afresh from {donor} on a live node?",
            args.pod
        ),
        None => format!("Replace all data of {} with a clone of {donor}?", args.pod),
    };
    confirm(&question, args.yes)?;
    let passwords = cluster.passwords().await?;
    member_services::ensure(&cluster, cluster.replicas()).await?;
    let why = if args.from.is_some() {
        "named by --from"
    } else {
        "chosen by the plugin"
    };
    ctx.member_event(
        &args.pod,
        Reason::Cloning,
        format!(
            "{}'s data is thrown away and cloned from {donor} ({why})",
            args.pod
        ),
    );
    let what = format!("rebuilding {}", args.pod);
    let task = Progress::new().task(&args.pod);
    wait::with_timeout(args.timeout, &what, async {
        if let Some((node, why)) = &lost {
            eprintln!("{why}: moving {} off {node}", args.pod);
            ctx.ensure_lock_held()?;
            placement::release_from_lost_node(&cluster, &args.pod, &task).await?;
            ctx.member_event(
                &args.pod,
                Reason::MovedOffLostNode,
                format!("{why}: released the claim and pod of {} there", args.pod),
            );
        }
        clone::rebuild(
            &cluster,
            &args.pod,
            clone::Donor::named(&donor),
            &passwords,
            &task,
        )
        .await
    })
    .await?;
    task.finish("rebuilt");
    let moved = match &lost {
        Some((node, _)) => format!(", moved off lost node {node}"),
        None => String::new(),
    };
    ctx.member_event(
        &args.pod,
        Reason::MemberJoined,
        format!(
            "{} cloned from {donor}, caught up and replicating from {}",
            args.pod, cluster.primary
        ),
    );
    println!(
        "replica {} rebuilt from {donor} and replicating from {}{moved}",
        args.pod, cluster.primary
    );
    Ok(())
}

pub fn check_target(cluster: &Cluster, pod: &str) -> Result<()> {
    cluster.require_member(pod)?;
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
    crate::ops::clone::check_same_series(cluster, donor, target).await?;
    if donor != cluster.primary {
        let state = crate::cluster::observe(cluster.server(donor)).await?;
        if !state.replication.as_ref().is_some_and(|r| r.is_connected()) {
            bail!("donor {donor} is not healthy (not replicating); pick another with --from or omit it");
        }
    }
    Ok(())
}
