//! Compiles proto/ with protox, so building needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/talentcard/v1/common.proto",
        "proto/talentcard/v1/issuance.proto",
        "proto/talentcard/v1/verification.proto",
        "proto/talentcard/v1/entitlements.proto",
        "proto/talentcard/v1/federation.proto",
        "proto/talentcard/v1/admin.proto",
    ];
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("talentcard_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // A request that is not a valid message is INVALID_ARGUMENT (src/codec.rs).
        .codec_path("crate::codec::StrictCodec")
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
