//! Generated protobuf and gRPC code for `talentcard.v1`.
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("talentcard.v1");

/// The compiled descriptors, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("talentcard_descriptor");
