//! talent-gateway: issues New Chongqing Talent Cards, recognises partner cards under the
//! reciprocal agreement, and tells a counter what a holder may use here.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod codec;
pub mod config;
pub mod credential;
pub mod dev_certs;
pub mod domain;
pub mod locks;
pub mod pb;
pub mod pki;
pub mod secret_file;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod trace_context;
pub mod trust;
