//! Integration tests: the real binary, served on loopback over TLS, called with tonic clients.
//! Every test that touches storage runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

#![allow(unreachable_pub)]

#[path = "../common/fixtures.rs"]
mod fixtures;
#[path = "../common/mianyang.rs"]
mod mianyang;
#[path = "../common/tianfu.rs"]
mod tianfu;

mod access;
mod amounts;
mod attacks;
mod audit;
mod backup;
mod certs;
mod connections;
mod counter_client_ca;
mod counter_page;
mod counter_revocation;
mod counter_token;
mod faults;
mod federation;
mod helpers;
mod holder;
mod issuance;
mod key_encryption;
mod key_revocation;
mod keys;
mod metrics;
mod offline;
mod offline_bundle;
mod published_profile;
mod rate_limit;
mod recognition;
mod redemption;
mod regions;
mod reservation;
mod server;
mod sm2;
mod third_region;
mod three_regions;
mod trace_context;
mod vectors;
mod web;
mod witness;
