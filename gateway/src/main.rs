//! The `guichet` binary: see `guichet --help`.

fn main() -> std::process::ExitCode {
    guichet::cli::main()
}
