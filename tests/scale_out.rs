//! Scale-out: the service with its state off the machine. `libsql`: one node with the
//! `default` database on a real `sqld`; `nodes` and `recovery`: three `order-host` processes
//! sharing one `sqld`, one `redis-server` and one set of simulators (harness `Cluster`), with
//! every cross-instance claim raced across processes and nodes killed mid-saga.
//!
//! A suite of its own rather than part of `host` or `orders`: every test here needs `sqld`
//! and several processes per test, and what it proves is that the same behaviour holds when
//! storage is shared — not a new host capability or order rule.

#[path = "scale_out/libsql.rs"]
mod libsql;
#[path = "scale_out/nodes.rs"]
mod nodes;
#[path = "scale_out/recovery.rs"]
mod recovery;
