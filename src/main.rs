//! The `diffuse-dse` binary: parse the command line and hand over to the library.

fn main() {
    std::process::exit(diffuse_dse::cli::main());
}
