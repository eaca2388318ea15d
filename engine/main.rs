//! The `runbook` binary: everything lives in the library.

// mimalloc: plan loading allocates many small nodes (YAML tree, spans, templates); glibc's
// allocator spent a fifth of the time in malloc/free and kept freed arenas resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    runbook::cli::main()
}
