//! What the database engines are, without any I/O: each engine's SQL and scripts behind one
//! seam (`engine::Engine`), GTID positions of both kinds, server versions, SQL text and its
//! parsed results, what a backup stream says of itself.
pub mod backup_info;
pub mod binlog;
pub mod engine;
pub mod gtid;
pub mod gtid_set;
pub mod server_version;
pub mod sqltext;
