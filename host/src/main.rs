fn main() {
    std::process::exit(vault_host::cli::main());
}
