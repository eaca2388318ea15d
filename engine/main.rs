//! The `runbook` binary: everything lives in the library.
fn main() -> std::process::ExitCode {
    runbook::cli::main()
}
