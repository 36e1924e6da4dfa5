//! The switchover's steps on scripted members.
