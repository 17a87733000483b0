//! `eagain generate man` and `eagain generate completions SHELL`: the man page and the
//! shells' completion scripts, made from the clap definitions in `args.rs`, so that
//! they say what `--help` says and cannot drift from it. Printed to stdout: nothing
//! installs them (docs/install.md says where they go).
//!
//! The man page is one page, eagain(1), as ripgrep's rg(1) is: the commands are its
//! sections, each with its usage, options and examples, so `man eagain` and a search
//! in it find every flag.

use super::args::{Cli, GenerateArgs};
use anyhow::Result;
use clap::CommandFactory;
use std::io::Write;

pub fn run(args: GenerateArgs) -> Result<()> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let man = matches!(args, GenerateArgs::Man);
    match args {
        GenerateArgs::Man => man_page(cmd, &mut out)?,
        GenerateArgs::Completions { shell } => {
            // The shells' generators offer hidden commands too (`__internal`, the
            // harness's own processes): complete a copy that has only the visible ones.
            // eagain itself has no flag of its own beyond --help and --version.
            let mut visible_only = clap::Command::new("eagain")
                .version(env!("CARGO_PKG_VERSION"))
                .about(cmd.get_about().cloned().unwrap_or_default())
                .subcommands(visible(&cmd).cloned());
            clap_complete::generate(shell, &mut visible_only, "eagain", &mut out)
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if man {
        text = once_preamble(&text);
    }
    super::print(&text)
}

/// clap_mangen starts every piece it renders with the same two-line preamble (the
/// apostrophe string): one, at the top, is enough.
fn once_preamble(page: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    page.lines()
        .filter(|l| !l.contains(".ds Aq ") || seen.insert(*l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// eagain(1): the top-level page, then a section for every visible command.
fn man_page(cmd: clap::Command, w: &mut Vec<u8>) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    // Gives every subcommand its whole name ("eagain analytic mmck") and usage.
    cmd.build();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(w)?;
    page.render_name_section(w)?;
    page.render_synopsis_section(w)?;
    page.render_description_section(w)?;
    page.render_options_section(w)?;
    writeln!(w, ".SH COMMANDS")?;
    for sub in visible(&cmd) {
        command_section(sub, w)?;
    }
    if let Some(after) = cmd.get_after_help() {
        writeln!(w, ".SH EXAMPLES")?;
        text_block(&after.to_string(), w)?;
    }
    writeln!(w, ".SH SEE ALSO")?;
    writeln!(
        w,
        "README.md and docs/ in eagain's repository: the guide, the model's rules \
         (docs/semantics.md) and how to install this page (docs/install.md)."
    )?;
    page.render_version_section(w)
}

/// The commands `--help` lists: hidden ones (the harness's own processes, this one)
/// stay out of the page.
fn visible(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// One command's section: what it does, its usage, its options and its examples, then
/// its own subcommands.
fn command_section(cmd: &clap::Command, w: &mut Vec<u8>) -> std::io::Result<()> {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
    writeln!(w, ".SS \"{}\"", escape(name))?;
    let about = cmd.get_long_about().or(cmd.get_about());
    if let Some(about) = about {
        for paragraph in about.to_string().split("\n\n") {
            writeln!(w, ".PP")?;
            for line in paragraph.lines() {
                writeln!(w, "{}", escape(line))?;
            }
        }
    }
    let usage = cmd.clone().render_usage().to_string();
    writeln!(w, ".PP")?;
    text_block(&usage, w)?;
    // clap_mangen renders the options (values, defaults, possible values); its
    // section heading is replaced by this command's own.
    let mut options = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render_options_section(&mut options)?;
    for line in String::from_utf8_lossy(&options).lines() {
        if !line.starts_with(".SH ") {
            writeln!(w, "{line}")?;
        }
    }
    if let Some(after) = cmd.get_after_help() {
        writeln!(w, ".PP")?;
        text_block(&after.to_string(), w)?;
    }
    for sub in visible(cmd) {
        command_section(sub, w)?;
    }
    Ok(())
}

/// Lines kept as they are written (examples, usage): no filling, no adjusting.
fn text_block(text: &str, w: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(w, ".nf")?;
    for line in text.lines() {
        writeln!(w, "{}", escape(line))?;
    }
    writeln!(w, ".fi")
}

/// Text as roff reads it literally: a backslash is `\e`, a hyphen-minus `\-` (so that
/// a flag copied from the page is the ASCII one), and a line may not start with a
/// control character.
fn escape(line: &str) -> String {
    let text = line.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}
