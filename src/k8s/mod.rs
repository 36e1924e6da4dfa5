//! Kubernetes API access: the connection, server-side apply, exec into pods, bounded waits,
//! Events, the cluster's operation lock, the agent's Lease as `status` reads it, pods' phases,
//! interactive sessions.
pub mod agent_lease;
pub mod apply;
pub mod backup_store;
pub mod context;
pub mod events;
pub mod exec;
pub mod lock;
#[cfg(test)]
pub mod mock;
pub mod monitoring;
pub mod pods;
pub mod session;
pub mod wait;
