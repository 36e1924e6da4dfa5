//! Moves on a cluster's members: plans (pure), topology changes (promote, follow, fence),
//! failover, switchover, rolling restarts, clones and their placement, storage, settings.
pub mod archive;
pub mod backup;
pub mod certificates;
pub mod clone;
pub mod failover;
pub mod fanout;
pub mod member_services;
pub mod members;
pub mod placement;
pub mod plan;
pub mod restore;
pub mod rolling;
pub mod settings;
pub mod storage;
pub mod switchover;
pub mod topology;
