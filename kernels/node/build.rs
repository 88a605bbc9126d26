// The napi_* symbols are provided by the node executable at load time. Linux allows undefined
// symbols in shared objects by default; macOS needs to be told.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }
    println!("cargo:rerun-if-env-changed=ATC_PACKAGE_VERSION");
}
