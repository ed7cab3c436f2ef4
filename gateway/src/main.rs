//! The `guichet` binary: see `guichet --help`.

use std::os::unix::process::CommandExt;

fn main() -> std::process::ExitCode {
    tune_allocator();
    guichet::cli::main()
}

/// glibc's allocator keeps an arena per thread and gives little memory back: a server that
/// has read the whole catalogue at start-up would hold on to it. Its tunables are read when
/// the process starts, so the process runs itself again, once, with them set (unless the
/// environment already sets some).
fn tune_allocator() {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    // `exec` only returns on failure: then run as we are.
    let _ = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", guichet::app::ALLOCATOR_TUNABLES)
        .exec();
}
