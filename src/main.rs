//! The `eagain` binary: everything happens in `app`, the command layer.

fn main() -> std::process::ExitCode {
    eagain::app::main()
}
