//! From a file on disk (plus `--set` overrides) to a checked `Model`, with every error
//! in one paragraph that names the file, the line and the field, and says what is
//! allowed.

use super::{check_path, Model};
use crate::error::BadInput;
use std::path::{Path, PathBuf};

/// One `--set PATH=VALUE` (or one point of a `--vary` axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: String,
    pub value: toml::Value,
    /// How the user wrote it, for error messages.
    pub origin: String,
}

/// A checked model and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub file: PathBuf,
    pub text: String,
    pub model: Model,
    /// The first service's backlog was left out (by the file and the `--set`s) and
    /// derived by its family's rule (a Dovecot master's process_limit x client_limit):
    /// a chart says so rather than print one number.
    pub backlog_derived: bool,
}

/// Parses a VALUE the way the command line takes it: a TOML value, or a bare word as a string.
pub fn parse_value(raw: &str) -> Result<toml::Value, String> {
    let raw = raw.trim();
    if let Ok(mut t) = toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        if let Some(v) = t.remove("v") {
            return Ok(v);
        }
    }
    let bare = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
    if bare {
        Ok(toml::Value::String(raw.to_string()))
    } else {
        Err(format!(
            "`{}` is not a value: write a number (2.5), a word (tcp), a quoted string, \
             or a table such as {{ dist = \"exponential\", mean = 1.0 }}",
            crate::error::quoted(raw)
        ))
    }
}

/// Parses `PATH=VALUE` as given to `--set`.
pub fn parse_assignment(raw: &str) -> Result<Override, BadInput> {
    let shown = crate::error::quoted(raw);
    let (path, value) = raw.split_once('=').ok_or_else(|| {
        BadInput(format!(
            "--set `{shown}`: write PATH=VALUE, for example --set load.rate=5 or --set listener.kind=tcp"
        ))
    })?;
    let path = path.trim();
    check_path(path).map_err(|m| BadInput(format!("--set {shown}: {m}")))?;
    let value = parse_value(value).map_err(|m| BadInput(format!("--set {shown}: {m}")))?;
    Ok(Override {
        path: path.to_string(),
        value,
        origin: format!("--set {shown}"),
    })
}

/// Reads, overrides and checks a model file.
pub fn load(file: &Path, overrides: &[Override]) -> Result<LoadedModel, BadInput> {
    let text = crate::input::read_text(file, crate::input::MAX_TEXT_BYTES).map_err(|e| {
        BadInput(format!(
            "{}. Give the path of a model in TOML, for example models/mmck.toml.",
            crate::input::naming("model file", &e)
        ))
    })?;
    load_text(file, text, overrides)
}

/// The same from the text of `file` read before (a sweep's results.json keeps it).
pub(crate) fn load_text(
    file: &Path,
    text: String,
    overrides: &[Override],
) -> Result<LoadedModel, BadInput> {
    let base = file.parent().unwrap_or(Path::new("."));
    let (model, backlog_derived) = load_model(&text, &file.display().to_string(), base, overrides)?;
    Ok(LoadedModel {
        file: file.to_path_buf(),
        text,
        model,
        backlog_derived,
    })
}

/// The same from text; `name` is used in messages, `base` resolves empirical files.
pub fn load_str(
    text: &str,
    name: &str,
    base: &Path,
    overrides: &[Override],
) -> Result<Model, BadInput> {
    load_model(text, name, base, overrides).map(|(m, _)| m)
}

/// The model, and whether its first service's backlog was derived.
fn load_model(
    text: &str,
    name: &str,
    base: &Path,
    overrides: &[Override],
) -> Result<(Model, bool), BadInput> {
    let table = overridden(text, name, overrides)?;
    let locate = |path: &str| -> String {
        match overrides.iter().rev().find(|o| path.starts_with(&o.path)) {
            Some(o) => format!(" (from {})", o.origin),
            None => at_line(text, key_offset(text, path)),
        }
    };
    let field_error = |e: super::FieldError| {
        BadInput(format!(
            "{name}{}: `{}`: {}",
            locate(&e.path),
            e.path,
            e.message
        ))
    };
    // A chain too long is refused before its services are read.
    if let Some(n) = table
        .get("services")
        .and_then(|s| s.as_array())
        .map(|s| s.len())
    {
        super::chain::check_count(n).map_err(field_error)?;
    }
    let raw: super::chain::RawModel =
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                let (message, path) = split_serde_message(&e.to_string());
                let (message, path) = if path == "services" || path.starts_with("services.") {
                    // The table was moved into the model: read it again, on this path only.
                    overridden(text, name, overrides)
                        .ok()
                        .and_then(|again| service_error(&again))
                        .unwrap_or((message, path))
                } else {
                    (message, path)
                };
                let path = match unknown_field(&message) {
                    Some(field) if !path.is_empty() => format!("{path}.{field}"),
                    Some(field) => field,
                    None => path,
                };
                let allowed = match explain_type(&message) {
                    // An enum given a number or a table: the names it allows.
                    "" if !path.is_empty()
                        && (message.contains("expected string only")
                            || message.contains("element")) =>
                    {
                        allowed_names(text, name, overrides, &path).unwrap_or_default()
                    }
                    other => other.to_string(),
                };
                // serde quotes the bad value whole: keep the message short (long enough for
                // the list of allowed values it gives).
                let message = crate::error::shortened(&message, 600);
                BadInput(format!(
                    "{name}{}: {}{message}{allowed}",
                    locate(&path),
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!("`{path}`: ")
                    },
                ))
            })?;
    let mut model = raw.into_model().map_err(field_error)?;
    for (path, d) in distributions(&mut model) {
        d.load_files(base)
            .map_err(|m| BadInput(format!("{name}{}: `{path}`: {m}", locate(&path))))?;
    }
    if let Some(file) = &model.load.trace {
        let trace = super::trace::Trace::read(&base.join(file))
            .map_err(|m| BadInput(format!("{name}{}: `load.trace`: {m}", locate("load.trace"))))?;
        model.load.trace_data = Some(std::sync::Arc::new(trace));
    }
    let backlog_derived = model.derive();
    model.check().map_err(field_error)?;
    Ok((model, backlog_derived))
}

/// The model file's TOML with the `--set` overrides written in.
fn overridden(text: &str, name: &str, overrides: &[Override]) -> Result<toml::Table, BadInput> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        BadInput(format!(
            "{name}{}: {} (the file must be TOML)",
            at_line(text, e.span().map(|s| s.start)),
            one_line(e.message())
        ))
    })?;
    for o in overrides {
        set(&mut table, &o.path, o.value.clone())
            .map_err(|m| BadInput(format!("{name}: {}: {m}", o.origin)))?;
    }
    Ok(table)
}

/// Every distribution of a model with its path, to read their files.
fn distributions(m: &mut Model) -> Vec<(String, &mut crate::dist::DistSpec)> {
    let mut out = vec![("load.retry_pause".to_string(), &mut m.load.retry_pause)];
    for s in &mut m.services {
        let p = |field: &str| s.path(field);
        let paths = [
            p("connect.retry_pause"),
            p("master.startup"),
            p("master.fork_time"),
            p("master.respawn_delay"),
            p("work.blocking"),
            p("work.hold"),
            p("work.cpu"),
        ];
        let [a, b, c, d, e, f, g] = paths;
        out.extend([
            (a, &mut s.connect.retry_pause),
            (b, &mut s.master.startup),
            (c, &mut s.master.fork_time),
            (d, &mut s.master.respawn_delay),
            (e, &mut s.work.blocking),
            (f, &mut s.work.hold),
            (g, &mut s.work.cpu),
        ]);
    }
    out
}

/// Writes `value` at a dotted path, creating tables on the way.
fn set(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let service_table = ["listener.", "pool.", "master.", "work."]
        .iter()
        .any(|t| path.starts_with(t));
    if let (true, Some(toml::Value::Array(services))) = (service_table, table.get("services")) {
        let names: Vec<&str> = services
            .iter()
            .filter_map(|s| s.get("name")?.as_str())
            .collect();
        return Err(format!(
            "the model is a chain of [[services]], so `{path}` names nothing: use \
             `services.NAME.{path}`, NAME one of: {}",
            names.join(", ")
        ));
    }
    if let Some(rest) = path.strip_prefix("services.") {
        let (name, field) = rest.split_once('.').unwrap_or((rest, ""));
        let Some(toml::Value::Array(services)) = table.get_mut("services") else {
            return Err(format!(
                "the model is a single service, not a chain of [[services]], so `{path}` names \
                 nothing: use `{field}`"
            ));
        };
        let names: Vec<String> = services
            .iter()
            .filter_map(|s| s.get("name")?.as_str().map(String::from))
            .collect();
        let Some(toml::Value::Table(service)) = services
            .iter_mut()
            .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(name))
        else {
            return Err(format!(
                "no service is named `{}`; the services are: {}",
                crate::error::quoted(name),
                names.join(", ")
            ));
        };
        return set(service, field, value);
    }
    let mut keys = path.split('.').peekable();
    let mut here = table;
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            here.insert(key.to_string(), value);
            return Ok(());
        }
        let next = here
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = match next {
            toml::Value::Table(t) => t,
            other => {
                return Err(format!(
                    "`{key}` holds the value {other}, not a table, so `{path}` cannot be set"
                ))
            }
        };
    }
    Ok(())
}

/// toml's error inside an array of tables names no entry ("services.pool.x"): this
/// reads the entries one by one and names the first that fails as the file does,
/// `services.NAME.pool.x` (or `services[i]...` for an entry without a name).
/// Returns (what, path).
fn service_error(model: &toml::Table) -> Option<(String, String)> {
    let services = model.get("services")?.as_array()?;
    services.iter().enumerate().find_map(|(i, entry)| {
        let e = entry.clone().try_into::<super::Service>().err()?;
        let (message, path) = split_serde_message(&e.to_string());
        let at = match entry.get("name").and_then(|n| n.as_str()) {
            Some(n) if !n.is_empty() => format!("services.{n}"),
            _ => format!("services[{i}]"),
        };
        let path = if path.is_empty() {
            at
        } else {
            format!("{at}.{path}")
        };
        Some((message, path))
    })
}

/// toml's message is "what\nin `path`"; returns (what, path).
fn split_serde_message(message: &str) -> (String, String) {
    match message.rsplit_once("\nin `") {
        Some((what, path)) => (
            one_line(what),
            path.trim().trim_end_matches('`').to_string(),
        ),
        None => (one_line(message), String::new()),
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// Says in words what the Rust type names in serde's messages allow.
/// The names an enum field allows, as " (allowed: `a` or `b`)": the model read again
/// with a name no field has at `path`, whose error lists them. None when that error is
/// another one.
fn allowed_names(text: &str, name: &str, overrides: &[Override], path: &str) -> Option<String> {
    const MARK: &str = "eagain-no-such-name";
    let mut table = overridden(text, name, overrides).ok()?;
    set(&mut table, path, toml::Value::String(MARK.into())).ok()?;
    let e = toml::Value::Table(table)
        .try_into::<super::chain::RawModel>()
        .err()?
        .to_string();
    let (_, list) = e.split_once(&format!("unknown variant `{MARK}`, expected "))?;
    let list = one_line(list.lines().next().unwrap_or(""));
    Some(format!(" (allowed: {list}, as a string in quotes)"))
}

fn explain_type(message: &str) -> &'static str {
    if message.contains("expected u32") || message.contains("expected u64") {
        " (a whole number >= 0 is allowed here)"
    } else if message.contains("expected f64") {
        " (a number is allowed here)"
    } else {
        ""
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// " line N" for a byte offset, or "" when there is none.
fn at_line(text: &str, offset: Option<usize>) -> String {
    match offset {
        Some(o) => format!(
            " line {}",
            text[..o.min(text.len())].matches('\n').count() + 1
        ),
        None => String::new(),
    }
}

/// Byte offset of the key at a dotted path (or of the deepest table on it that exists).
fn key_offset(text: &str, path: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text.to_string()).ok()?;
    let mut here: &dyn toml_edit::TableLike = doc.as_table();
    let mut found = None;
    let mut keys = path.split('.');
    while let Some(key) = keys.next() {
        // A chain's service by its place, `services[i]`, when it has no name.
        if let Some(i) = key
            .strip_prefix("services[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            let service = here.get("services")?.as_array_of_tables()?.get(i)?;
            found = service.span().map(|s| s.start).or(found);
            here = service;
            continue;
        }
        // A chain's service is found by its name in the array of [[services]]; the
        // chain itself at its first.
        if key == "services" {
            let services = here.get("services")?.as_array_of_tables()?;
            let Some(name) = keys.next() else {
                return services.get(0).and_then(|t| t.span()).map(|s| s.start);
            };
            let service = services
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))?;
            found = service
                .get_key_value("name")
                .and_then(|(k, _)| k.span())
                .map(|s| s.start)
                .or(found);
            here = service;
            continue;
        }
        // A key that is absent (a required field left out, such as both
        // `load.duration` and `load.connections`) points at the deepest table that
        // exists, as documented above, rather than at no line at all (SPEC 3: an
        // error names the file, the line and the field).
        let Some((k, item)) = here.get_key_value(key) else {
            break;
        };
        found = k.span().map(|s| s.start).or(found);
        match item.as_table_like() {
            Some(t) => here = t,
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
[load]
rate = 5
duration = 10
[listener]
backlog = 16
[pool]
process_limit = 2
[work]
blocking = { dist = "exponential", mean = 0.1 }
"#;

    fn err(text: &str, sets: &[&str]) -> String {
        let o: Vec<Override> = sets.iter().map(|s| parse_assignment(s).unwrap()).collect();
        load_str(text, "m.toml", Path::new("."), &o).unwrap_err().0
    }

    #[test]
    fn a_valid_model_loads_with_defaults() {
        let m = load_str(GOOD, "m.toml", Path::new("."), &[]).unwrap();
        assert_eq!(m.front().listener.somaxconn, 4096);
        assert_eq!(m.queue_capacity(), 17);
        assert_eq!(m.front().pool.client_limit, 1);
        assert_eq!(m.sim.replications, 10);
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let e = err(&GOOD.replace("process_limit = 2", "process_limit = 0"), &[]);
        assert!(e.starts_with("m.toml line 9: `pool.process_limit`"), "{e}");
        let e = err(&GOOD.replace("process_limit = 2", "proces_limit = 2"), &[]);
        assert!(
            e.contains("line 9") && e.contains("unknown field `proces_limit`"),
            "{e}"
        );
        let e = err(&GOOD.replace("rate = 5", "rate = -5"), &[]);
        assert!(
            e.starts_with("m.toml line 4: `load.rate`: must be a number above 0"),
            "{e}"
        );
        let e = err(&GOOD.replace("exponential", "expo"), &[]);
        assert!(
            e.contains("unknown variant `expo`") && e.contains("line 11"),
            "{e}"
        );
    }

    #[test]
    fn an_enum_field_given_a_number_or_a_table_is_told_the_names_it_allows() {
        for set in ["listener.kind=3", "listener.kind={}", "master.mode=1.5"] {
            let e = err(GOOD, &[set]);
            assert!(e.contains(&format!("(from --set {set})")), "{e}");
            assert!(
                e.contains("allowed:") && e.contains("as a string in quotes"),
                "{e}"
            );
        }
        assert!(err(GOOD, &["listener.kind=3"]).contains("`tcp`"));
    }

    #[test]
    fn set_overrides_a_field_and_errors_name_the_flag() {
        let o = [parse_assignment("pool.process_limit=7").unwrap()];
        let m = load_str(GOOD, "m.toml", Path::new("."), &o).unwrap();
        assert_eq!(m.front().pool.process_limit, 7);
        let e = err(GOOD, &["listener.backlog=-1"]);
        assert!(e.contains("(from --set listener.backlog=-1)"), "{e}");
        assert!(e.contains("whole number"), "{e}");
        let e = parse_assignment("pool.nope=1").unwrap_err().0;
        assert!(e.contains("`pool.nope` is not a model path"), "{e}");
    }

    #[test]
    fn a_set_of_the_other_shape_names_the_set_and_the_path_to_use() {
        let chain = "name = \"c\"\n[load]\nrate = 1\nduration = 1\n[[services]]\nname = \"a\"\n\
                     listener = { backlog = 1 }\npool = { process_limit = 1 }\n\
                     work = { blocking = { dist = \"constant\", value = 1 } }\n";
        let e = err(chain, &["pool.process_limit=3"]);
        assert!(
            e.starts_with("m.toml: --set pool.process_limit=3: the model is a chain")
                && e.contains("`services.NAME.pool.process_limit`, NAME one of: a"),
            "{e}"
        );
        let e = err(GOOD, &["services.a.pool.process_limit=3"]);
        assert!(
            e.contains("--set services.a.pool.process_limit=3: the model is a single service")
                && e.contains("use `pool.process_limit`"),
            "{e}"
        );
    }

    #[test]
    fn bare_words_are_strings_and_tables_parse() {
        assert_eq!(
            parse_value("tcp").unwrap(),
            toml::Value::String("tcp".into())
        );
        assert_eq!(parse_value("2.5").unwrap(), toml::Value::Float(2.5));
        assert!(parse_value("{ dist = \"constant\", value = 1 }")
            .unwrap()
            .is_table());
        assert!(parse_value("a b").is_err());
    }
}
