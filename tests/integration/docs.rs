//! Docs that cannot go stale: every command README.md and `docs/**/*.md` show is run,
//! its exit code checked, the lines a reader is told to look for found in its output,
//! and every chart the pages show from `output/readme/` compared byte for byte with the
//! chart its command draws today. docs/contributing.md says the same for writers.
//!
//! The convention:
//! - Only fenced blocks marked ```sh, ```console or left bare are read (```toml,
//!   ```text and the others never run).
//! - A command is a line that starts with `eagain ` or `cargo run --release -- `
//!   (which means the same), after an optional `$ ` prompt; a line ending in `\` goes
//!   on the next. `eagain` is the binary these tests built. A shell variable set on a
//!   line of its own (`B='{ dist = "constant", value = 0.073 }'`) holds for the rest of
//!   the page. In a ```sh block every other line must be a comment; in the others a
//!   `$ ` line must be a command, and lines without a prompt are output, not run.
//! - The commands of a page run in order, each with bash, in a temporary folder that
//!   holds a copy of `models/` and `tests/data/` (the shipped sample configurations)
//!   and an empty `output/`, as from the repository's root:
//!   nothing is written into the checkout, and a command may read what an earlier one
//!   of the same page wrote.
//! - Markers are HTML comments, invisible on GitHub, on the lines right before a
//!   block's opening fence or right after its closing one:
//!   - `<!-- not run: REASON -->` (before) skips the block; the reason is required.
//!     `harness` and `validate` with a real `--target` (anything but `mock`) must be
//!     marked so: they need real servers and minutes.
//!   - `<!-- exit: N -->` (before): every command of the block must exit N (else 0).
//!   - `<!-- expect: TEXT -->` (after): a line of the block's output (stdout or
//!     stderr) contains TEXT.
//!   - `<!-- chart: output/readme/NAME.png from PATH -->` (after): the block draws
//!     PATH, which must be byte for byte the committed NAME.png. With `, measured`
//!     at the end the chart comes from real servers: the block stays `not run`, and
//!     only the committed file is checked (a 1400 x 900 PNG).
//!
//!   Every image a page shows from `output/readme/` (a page under docs/ writes
//!   `../output/readme/`) needs its chart marker, and every PNG there must be shown.
//! - Every relative link of a page (`[text](path)`, `[text](path#anchor)`,
//!   `[text](#anchor)`) must lead to a file or folder of the repository, and an anchor
//!   into a page to one of its headings (GitHub's slug) or `<a id="...">` tags.
//! - `scripts/readme-charts.sh` runs this test with `EAGAIN_DOCS_CHARTS=write`, which
//!   copies each chart drawn over the committed one instead of comparing them; with
//!   `--measure` (`EAGAIN_DOCS_MEASURE=1`) it also runs the blocks of measured charts.
//!
//! docs/cluster.md's Slurm and Kubernetes blocks are marked `not run`: they need a
//! cluster, and `tests/realservers/cluster.rs` runs them on a real Slurm one.

use crate::common::{bin, root};
use crate::help::copy_tree;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one documented command may take before the test fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// A marker comment next to a block.
#[derive(Debug, Clone, PartialEq)]
enum Marker {
    NotRun(String),
    Exit(i32),
    Expect(String),
    Chart {
        committed: String,
        made: String,
        measured: bool,
    },
}

/// One fenced block of a page, with its markers.
#[derive(Debug)]
struct Block {
    /// The 1-based line of its opening fence.
    line: usize,
    lang: String,
    lines: Vec<String>,
    markers: Vec<Marker>,
}

/// What a block asks to run, in order.
#[derive(Debug, PartialEq)]
enum Step {
    /// `NAME=...`: kept for every later command of the page.
    Set(String),
    Run(String),
}

/// README.md and every page under docs/, in a fixed order.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root("README.md")];
    walk(&root("docs"), &mut out);
    out[1..].sort();
    out
}

/// A marker comment's key and value, or None for a line that is not one.
fn marker(line: &str) -> Option<Result<Marker, String>> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let (key, value) = inner.split_once(':')?;
    let value = value.trim().to_string();
    Some(match key.trim() {
        "not run" if value.is_empty() => Err("`not run` needs its reason".into()),
        "not run" => Ok(Marker::NotRun(value)),
        "exit" => value
            .parse()
            .map(Marker::Exit)
            .map_err(|_| format!("`exit: {value}` is not an exit code")),
        "expect" if value.is_empty() => Err("`expect` needs the text to find".into()),
        "expect" => Ok(Marker::Expect(value)),
        "chart" => {
            let (value, measured) = match value.strip_suffix(", measured") {
                Some(v) => (v.to_string(), true),
                None => (value.clone(), false),
            };
            match value.split_once(" from ") {
                Some((c, m)) if c.starts_with("output/readme/") && c.ends_with(".png") => {
                    Ok(Marker::Chart {
                        committed: c.trim().to_string(),
                        made: m.trim().to_string(),
                        measured,
                    })
                }
                _ => Err(format!(
                    "`chart: {value}`: write `chart: output/readme/NAME.png from PATH`"
                )),
            }
        }
        // Another comment (a note to writers) is not a marker.
        _ => return None,
    })
}

/// The fenced blocks of a page with the markers around them.
fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let open = i;
        let mut close = open + 1;
        while close < lines.len() && !lines[close].trim_start().starts_with("```") {
            close += 1;
        }
        if close == lines.len() {
            return Err(format!("line {}: a block that is never closed", open + 1));
        }
        let mut markers = Vec::new();
        let mut at = open;
        while at > 0 {
            match marker(lines[at - 1]) {
                Some(m) => markers.push(m.map_err(|e| format!("line {at}: {e}"))?),
                None => break,
            }
            at -= 1;
        }
        let mut at = close + 1;
        while at < lines.len() {
            match marker(lines[at]) {
                Some(m) => markers.push(m.map_err(|e| format!("line {}: {e}", at + 1))?),
                None => break,
            }
            at += 1;
        }
        out.push(Block {
            line: open + 1,
            lang: info.trim().to_string(),
            lines: lines[open + 1..close]
                .iter()
                .map(|l| l.to_string())
                .collect(),
            markers,
        });
        i = close + 1;
    }
    Ok(out)
}

/// Whether the runner reads a block of this language at all.
fn is_read(lang: &str) -> bool {
    matches!(lang, "" | "sh" | "console")
}

/// `NAME=` at the start of a line: a shell variable for the rest of the page.
fn is_assignment(line: &str) -> bool {
    line.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// The commands and variables of a block, by the convention above.
fn steps(block: &Block) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in &block.lines {
        let full = match pending.take() {
            Some(mut p) => {
                p.push('\n');
                p.push_str(line);
                p
            }
            None => {
                let trimmed = line.trim_start();
                let prompted = trimmed.strip_prefix("$ ");
                let body = prompted.unwrap_or(trimmed);
                let is_command = body.starts_with("eagain ")
                    || body.starts_with("cargo run --release -- ")
                    || is_assignment(body);
                if !is_command {
                    let shell_line = block.lang == "sh" || prompted.is_some();
                    if shell_line && !body.is_empty() && !body.starts_with('#') {
                        return Err(format!(
                            "`{body}` is not a command this runner can run: mark the block \
                             `<!-- not run: REASON -->`"
                        ));
                    }
                    continue;
                }
                body.to_string()
            }
        };
        if full.trim_end().ends_with('\\') {
            pending = Some(full);
            continue;
        }
        let command = match full.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("eagain {rest}"),
            None => full,
        };
        out.push(if command.starts_with("eagain ") {
            Step::Run(command)
        } else {
            Step::Set(command)
        });
    }
    if let Some(p) = pending {
        return Err(format!("`{p}` ends in `\\` with no line after it"));
    }
    Ok(out)
}

/// The real server a command would start, if any: harness or validate with a
/// `--target` other than the mock.
fn real_target(command: &str) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if !matches!(words.get(1), Some(&"harness") | Some(&"validate")) {
        return None;
    }
    let target = words
        .iter()
        .position(|w| *w == "--target")
        .and_then(|i| words.get(i + 1))
        .map_or("(none given)", |t| t);
    (target != "mock").then(|| target.to_string())
}

/// What a run of one command gave.
struct Ran {
    code: Option<i32>,
    output: String,
    took: Duration,
}

/// Runs `script` with bash in `dir`, bounded by COMMAND_LIMIT (its whole process group
/// is killed then).
fn run_bash(script: &str, dir: &Path, path: &str) -> Ran {
    use std::os::unix::process::CommandExt;
    let started = Instant::now();
    let out_file = dir.join(".docs-stdout");
    let err_file = dir.join(".docs-stderr");
    let mut c = Command::new("bash");
    c.args(["-c", &format!("set -o pipefail\n{script}")])
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .process_group(0);
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ] {
        c.env_remove(v);
    }
    let mut child = c.spawn().expect("bash runs");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > COMMAND_LIMIT {
            // SAFETY: kill(2) on the process group this test started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&out_file).unwrap_or_default(),
        std::fs::read_to_string(&err_file).unwrap_or_default()
    );
    Ran {
        code,
        output,
        took: started.elapsed(),
    }
}

/// How this run treats charts: compare them (the test), or write them (the script).
#[derive(Clone, Copy)]
struct Mode {
    write: bool,
    measure: bool,
}

impl Mode {
    fn from_env() -> Mode {
        Mode {
            write: std::env::var("EAGAIN_DOCS_CHARTS").is_ok_and(|v| v == "write"),
            measure: std::env::var("EAGAIN_DOCS_MEASURE").is_ok_and(|v| v == "1"),
        }
    }
}

/// The width and height of a PNG file.
fn png_size(path: &Path) -> Result<(u32, u32), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let info = reader.info();
    Ok((info.width, info.height))
}

/// What one page's run found: its failures, its charts, and a line for the log.
struct PageRun {
    failures: Vec<String>,
    charts: Vec<String>,
    summary: String,
}

/// Runs every command of one page; returns what failed, which charts it checked or
/// wrote, and how long it took.
fn run_page(page: &Path, mode: Mode) -> PageRun {
    let name = page.strip_prefix(root("")).unwrap().display().to_string();
    let mut failures = Vec::new();
    let mut charts = Vec::new();
    let text = std::fs::read_to_string(page).unwrap();
    let blocks = match blocks(&text) {
        Ok(b) => b,
        Err(e) => {
            return PageRun {
                failures: vec![format!("{name} {e}")],
                charts,
                summary: String::new(),
            }
        }
    };
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root("models"), &dir.path().join("models"));
    copy_tree(&root("tests/data"), &dir.path().join("tests/data"));
    std::fs::create_dir(dir.path().join("output")).unwrap();
    let bin_dir = dir.path().join(".bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("eagain")).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let mut settings: Vec<String> = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    let mut slowest: Option<(Duration, String)> = None;
    for block in blocks.iter().filter(|b| is_read(&b.lang)) {
        let at = format!("{name} line {}", block.line);
        let steps = match steps(block) {
            Ok(s) => s,
            Err(e) if block.markers.iter().any(|m| matches!(m, Marker::NotRun(_))) => {
                let _ = e;
                skipped += 1;
                continue;
            }
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let measured_chart = block
            .markers
            .iter()
            .any(|m| matches!(m, Marker::Chart { measured: true, .. }));
        let not_run = block.markers.iter().any(|m| matches!(m, Marker::NotRun(_)));
        if not_run && !(measured_chart && mode.measure) {
            // Variables still hold for the rest of the page.
            settings.extend(steps.iter().filter_map(|s| match s {
                Step::Set(v) => Some(v.clone()),
                Step::Run(_) => None,
            }));
            for m in &block.markers {
                if let Marker::Chart {
                    committed,
                    measured: true,
                    ..
                } = m
                {
                    match png_size(&root(committed)) {
                        Ok((1400, 900)) => charts.push(committed.clone()),
                        Ok(size) => failures.push(format!("{at}: {committed} is {size:?}")),
                        Err(e) => failures.push(format!("{at}: {e}")),
                    }
                }
            }
            skipped += 1;
            continue;
        }
        let expected = block
            .markers
            .iter()
            .find_map(|m| match m {
                Marker::Exit(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0);
        let mut output = String::new();
        let mut block_failed = false;
        for step in &steps {
            let command = match step {
                Step::Set(v) => {
                    settings.push(v.clone());
                    continue;
                }
                Step::Run(c) => c,
            };
            if !not_run {
                if let Some(target) = real_target(command) {
                    failures.push(format!(
                        "{at}: `{command}` measures a real server ({target}): mark the block \
                         `<!-- not run: REASON -->`, or use --target mock"
                    ));
                    block_failed = true;
                    break;
                }
            }
            let script = format!("{}\n{command}", settings.join("\n"));
            let result = run_bash(&script, dir.path(), &path);
            ran += 1;
            if slowest.as_ref().is_none_or(|(t, _)| result.took > *t) {
                slowest = Some((result.took, command.clone()));
            }
            output.push_str(&result.output);
            if result.code != Some(expected) {
                failures.push(format!(
                    "{at}: `{command}` exited {} (expected {expected}) after {:.1} s:\n{}",
                    result
                        .code
                        .map_or("killed at the time limit".into(), |c| c.to_string()),
                    result.took.as_secs_f64(),
                    tail(&result.output, 2000)
                ));
                block_failed = true;
                break;
            }
        }
        if block_failed {
            continue;
        }
        for m in &block.markers {
            match m {
                Marker::Expect(text) if !output.lines().any(|l| l.contains(text.as_str())) => {
                    failures.push(format!(
                        "{at}: no line of the output contains `{text}`; the output:\n{}",
                        tail(&output, 2000)
                    ));
                }
                Marker::Chart {
                    committed, made, ..
                } => {
                    let (made_path, committed_path) = (dir.path().join(made), root(committed));
                    let drawn = match std::fs::read(&made_path) {
                        Ok(bytes) => bytes,
                        Err(e) => {
                            failures.push(format!("{at}: the block drew no {made}: {e}"));
                            continue;
                        }
                    };
                    charts.push(committed.clone());
                    if mode.write {
                        if std::fs::read(&committed_path).ok().as_ref() != Some(&drawn) {
                            std::fs::write(&committed_path, &drawn).unwrap();
                            eprintln!("wrote {committed} (it had changed)");
                        } else {
                            eprintln!("{committed} is current");
                        }
                    } else if std::fs::read(&committed_path).ok().as_ref() != Some(&drawn) {
                        failures.push(format!(
                            "{at}: {committed} is not the chart its command draws today \
                             ({made}): run scripts/readme-charts.sh and commit the new one"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    let mut summary = format!(
        "{name}: {ran} commands run, {skipped} blocks not run, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Some((took, command)) = slowest {
        let first_line = command.lines().next().unwrap_or_default();
        summary += &format!(
            " (the slowest, {:.1} s: {})",
            took.as_secs_f64(),
            tail(first_line, 100)
        );
    }
    PageRun {
        failures,
        charts,
        summary,
    }
}

/// The last `n` bytes of `text` or so (at a character boundary), for a message.
fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The images a page shows from output/readme/ (`output/readme/X.png` from the
/// README, `../output/readme/X.png` or deeper from a page under docs/).
fn shown_charts(text: &str) -> Vec<String> {
    text.match_indices("output/readme/")
        .filter_map(|(i, _)| {
            let rest = &text[i..];
            let end = rest.find(|c: char| c == ')' || c.is_whitespace() || c == '`')?;
            let path = &rest[..end];
            let before = text[..i].trim_end_matches("../");
            (path.ends_with(".png") && before.ends_with("](")).then(|| path.to_string())
        })
        .collect()
}

/// The anchors a page has: GitHub's slug of every heading (lower case, punctuation
/// other than `-` and `_` dropped, spaces made `-`, a repeated slug numbered `-1`,
/// `-2`, ...) and every `<a id="...">`.
fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (i, _) in line.match_indices("<a id=\"") {
            let rest = &line[i + 7..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_string());
            }
        }
        let Some(title) = line
            .strip_prefix('#')
            .map(|t| t.trim_start_matches('#'))
            .filter(|t| t.starts_with(' '))
        else {
            continue;
        };
        let base: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut slug = base.clone();
        let mut n = 0;
        while out.contains(&slug) {
            n += 1;
            slug = format!("{base}-{n}");
        }
        out.push(slug);
    }
    out
}

/// The relative link targets of a page outside its fenced blocks and code spans:
/// (line, target).
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Code spans out: `[a](b)` inside backticks is text, not a link.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
            plain.push(' ');
        }
        for (i, _) in plain.match_indices("](") {
            let rest = &plain[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].trim();
            let external = target.contains("://") || target.starts_with("mailto:");
            if !target.is_empty() && !external {
                out.push((n + 1, target.to_string()));
            }
        }
    }
    out
}

/// What is wrong with the links of `page` (its text `text`): a target that is not in
/// the repository, or an anchor its page does not have.
fn broken_links(page: &Path, text: &str) -> Vec<String> {
    let name = page.strip_prefix(root("")).unwrap().display().to_string();
    let dir = page.parent().unwrap();
    let mut out = Vec::new();
    for (line, target) in links(text) {
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(path)
        };
        if !file.exists() {
            out.push(format!(
                "{name} line {line}: the link `{target}` leads to no file ({} is missing)",
                file.display()
            ));
            continue;
        }
        if let Some(anchor) = anchor {
            let is_page = file.extension().is_some_and(|e| e == "md");
            let have = if is_page {
                anchors(&std::fs::read_to_string(&file).unwrap())
            } else {
                Vec::new()
            };
            if !have.iter().any(|a| a == anchor) {
                out.push(format!(
                    "{name} line {line}: the link `{target}` names an anchor its page does \
                     not have"
                ));
            }
        }
    }
    out
}

#[test]
fn every_command_the_docs_show_runs_and_every_chart_they_show_is_current() {
    let mode = Mode::from_env();
    let pages = pages();
    let runs: Vec<PageRun> = pages.par_iter().map(|p| run_page(p, mode)).collect();
    let mut failures: Vec<String> = Vec::new();
    let mut checked: Vec<String> = Vec::new();
    for run in runs {
        eprintln!("{}", run.summary);
        failures.extend(run.failures);
        checked.extend(run.charts);
    }
    // Every chart shown is checked, and every committed chart is shown.
    let mut shown = Vec::new();
    for page in &pages {
        shown.extend(shown_charts(&std::fs::read_to_string(page).unwrap()));
    }
    for chart in &shown {
        if !checked.contains(chart) {
            failures.push(format!(
                "{chart} is shown but no block says how it is drawn: add \
                 `<!-- chart: {chart} from PATH -->` after the block that draws it"
            ));
        }
    }
    for entry in std::fs::read_dir(root("output/readme")).unwrap() {
        let file = format!(
            "output/readme/{}",
            entry.unwrap().file_name().to_string_lossy()
        );
        if file.ends_with(".png") && !shown.contains(&file) {
            failures.push(format!("{file} is committed but no page shows it"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in the docs:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_link_of_the_docs_leads_to_a_file_and_an_anchor_that_exist() {
    let mut failures = Vec::new();
    for page in pages() {
        failures.extend(broken_links(
            &page,
            &std::fs::read_to_string(&page).unwrap(),
        ));
    }
    assert!(
        failures.is_empty(),
        "{} broken link(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn links_and_anchors_are_read_as_github_renders_them() {
    let page = "\
# The guide
## The master (`master.mode`)
## Explain yesterday's 502s
## Notes
## Notes
<a id=\"unix-eagain\"></a>
See [the master](#the-master-mastermode), [`x`](semantics.md#unix-eagain) and
[home](https://example.org/a_(b)); `[not](a link)`.
```
[not](in a block)
```
";
    assert_eq!(
        anchors(page),
        [
            "the-guide",
            "the-master-mastermode",
            "explain-yesterdays-502s",
            "notes",
            "notes-1",
            "unix-eagain"
        ]
    );
    assert_eq!(
        links(page),
        [
            (7, "#the-master-mastermode".to_string()),
            (7, "semantics.md#unix-eagain".to_string())
        ]
    );
    let broken = broken_links(
        &root("docs/guide.md"),
        "[a](semantics.md#no-such-rule) [b](no-such-page.md) [c](semantics.md#unix-eagain)",
    );
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("names an anchor"), "{broken:?}");
    assert!(broken[1].contains("leads to no file"), "{broken:?}");
}

#[test]
fn the_runner_reads_commands_variables_prompts_and_markers_as_its_convention_says() {
    let page = "\
<!-- exit: 2 -->
```console
$ F='a b'
$ eagain simulate x.toml \\
    --set load.rate=1
output line
```
<!-- expect: output -->
<!-- chart: output/readme/x.png from out/y.png -->

```toml
eagain not = \"run\"
```

<!-- not run: needs a cluster -->
```sh
sbatch job.sh
```

```sh
cargo run --release -- plan m.toml
kubectl apply -f x.yaml
```
";
    let blocks = blocks(page).unwrap();
    assert_eq!(blocks.len(), 4);
    assert_eq!(
        blocks[0].markers,
        [
            Marker::Exit(2),
            Marker::Expect("output".into()),
            Marker::Chart {
                committed: "output/readme/x.png".into(),
                made: "out/y.png".into(),
                measured: false
            }
        ]
    );
    assert_eq!(
        steps(&blocks[0]).unwrap(),
        [
            Step::Set("F='a b'".into()),
            Step::Run("eagain simulate x.toml \\\n    --set load.rate=1".into())
        ]
    );
    assert!(!is_read(&blocks[1].lang));
    assert_eq!(
        blocks[2].markers,
        [Marker::NotRun("needs a cluster".into())]
    );
    let err = steps(&blocks[3]).unwrap_err();
    assert!(
        err.contains("`kubectl apply -f x.yaml` is not a command"),
        "{err}"
    );
    assert_eq!(
        marker("<!-- not run: -->"),
        Some(Err("`not run` needs its reason".into()))
    );
    assert_eq!(marker("<!-- a note to writers -->"), None);
    assert_eq!(
        real_target("eagain validate m.toml --target builtin"),
        Some("builtin".into())
    );
    assert_eq!(real_target("eagain harness m.toml --target mock"), None);
    assert_eq!(real_target("eagain simulate m.toml"), None);
    assert_eq!(
        shown_charts("![a](output/readme/a.png) and `output/readme/` and [b](output/readme/b.png)"),
        ["output/readme/a.png", "output/readme/b.png"]
    );
    assert_eq!(
        shown_charts("![a](../output/readme/a.png) ![b](../../output/readme/b.png)"),
        ["output/readme/a.png", "output/readme/b.png"]
    );
}
