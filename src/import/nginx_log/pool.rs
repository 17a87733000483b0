//! `--pool MODEL.toml`: the pool behind the log from a model of one service (one
//! `import php-fpm` or `import apache` wrote, or a shipped one), so that the log gives
//! the load and the configuration the pool: its spare-server master, its listener, its
//! limits. The model must load and be of one service; its `[listener]`, `[pool]`,
//! `[master]` and `[work]` tables are copied with their comments (`toml_edit`), as
//! tables whatever way the file wrote them. A distribution read from a file beside the
//! pool model is refused, since it would not be found beside the written one.

use crate::dist::DistSpec;
use crate::error::BadInput;
use crate::model::{ListenerKind, Model};
use std::path::Path;
use toml_edit::{DocumentMut, Item, Table};

/// The tables copied, in the order the model writes them.
pub(super) const TABLES: [&str; 4] = ["listener", "pool", "master", "work"];

/// A model of one service, loaded, and its tables as the file writes them.
#[derive(Debug, Clone)]
pub(super) struct PoolModel {
    /// The file, as the command line named it.
    pub file: String,
    pub model: Model,
    /// `TABLES`' tables as the file has them (None: the file leaves it to the defaults).
    pub tables: [Option<Table>; 4],
}

impl PoolModel {
    /// Reads and checks `--pool FILE`.
    pub fn read(path: &Path) -> Result<PoolModel, BadInput> {
        let file = path.display().to_string();
        let loaded =
            crate::model::load(path, &[]).map_err(|e| BadInput(format!("--pool: {}", e.0)))?;
        let refuse = |what: String| {
            BadInput(format!(
                "--pool {file}: {what}; give a model of one pool (from `eagain import \
                 php-fpm` or `eagain import apache`, or a shipped one such as \
                 models/php-fpm-dynamic.toml)"
            ))
        };
        let service = loaded
            .model
            .single()
            .map_err(|e| refuse(format!("the import {}", e.message)))?;
        let m = &service.master;
        let dists: [(&str, &DistSpec); 5] = [
            ("master.startup", &m.startup),
            ("master.fork_time", &m.fork_time),
            ("master.respawn_delay", &m.respawn_delay),
            ("work.blocking", &service.work.blocking),
            ("work.hold", &service.work.hold),
        ];
        if let Some((path, _)) = dists
            .iter()
            .find(|(_, d)| matches!(d, DistSpec::Empirical { file: Some(_), .. }))
        {
            return Err(refuse(format!(
                "`{path}` reads its values from a file beside the model, which the written \
                 model would not find: write them into the model (`values = [...]`)"
            )));
        }
        let doc: DocumentMut = loaded
            .text
            .parse()
            .map_err(|e| refuse(format!("it is not TOML ({e})")))?;
        let tables = TABLES.map(|name| {
            doc.get(name).cloned().and_then(|item| {
                let mut t = item.into_table().ok()?;
                // A table however the file wrote it (inline, dotted), with its own
                // comments but not those before its header.
                t.set_implicit(false);
                t.set_dotted(false);
                t.decor_mut().set_prefix("");
                Some(t)
            })
        });
        Ok(PoolModel {
            file,
            model: loaded.model,
            tables,
        })
    }

    /// The workers the replay serves the log's requests with: the most processes, each
    /// with its threads.
    pub fn workers(&self) -> u32 {
        let p = &self.model.front().pool;
        p.process_limit.saturating_mul(p.threads)
    }

    pub fn listener(&self) -> ListenerKind {
        self.model.front().listener.kind
    }

    /// The queue's capacity, for the note that compares it with the log's.
    pub fn queue_capacity(&self) -> u64 {
        self.model.queue_capacity()
    }

    /// Table `name` of `TABLES` as TOML text, `[name]` first; `blocking` replaces its
    /// `blocking` (the log's work) with its comment.
    pub fn table_text(&self, name: &str, blocking: Option<(&str, &str)>) -> Option<String> {
        let i = TABLES.iter().position(|t| *t == name)?;
        let mut table = self.tables[i].clone();
        if let Some((spec, comment)) = blocking {
            let mut value: toml_edit::Value = spec.parse().ok()?;
            value.decor_mut().set_suffix(format!("   # {comment}"));
            let t = table.get_or_insert_with(Table::new);
            t.insert("blocking", Item::Value(value));
        }
        let mut doc = DocumentMut::new();
        doc.insert(name, Item::Table(table?));
        Some(doc.to_string())
    }
}
