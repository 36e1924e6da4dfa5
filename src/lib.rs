//! kubectl-mysqlha: a highly available MySQL or MariaDB primary/replica cluster on Kubernetes.
//!
//! The layers, each using only those listed before it:
//! - `base`: output, progress, input checks, redaction, archives, error wording;
//! - `db`: the engines (SQL, scripts, GTIDs, versions) behind one seam, no I/O;
//! - `store`: object storage for backups (S3), and the backup catalog;
//! - `manifests`: the Kubernetes objects a cluster is made of, pure builders;
//! - `k8s`: API access: connection, apply, exec, waits, Events, the operation lock;
//! - `cluster`: a cluster as found (StatefulSet, record, pods) and what its servers say, health;
//! - `ops`: plans (pure) and the moves that carry them out;
//! - `agent`: the in-cluster agent (leader election, automatic failover, rejoin, rebuild);
//! - `cli` and `cmd`: the command line and one file per command.
pub mod agent;
pub mod base;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod db;
pub mod k8s;
pub mod manifests;
pub mod ops;
pub mod store;
