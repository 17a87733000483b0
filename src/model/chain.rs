//! A service, and several in a chain (SPEC section 8): `[[services]]` in place of the
//! top-level `listener`, `pool`, `master` and `work` tables, each with a `name`, its
//! own tables, a `next` service its processes connect to when their work is done, how
//! the connection is handed on (`handoff`), and that hop's client rules (`connect`).
//! Also how a model file is read and written: one service at the top level, as
//! before, which loads as a list of one service named "", or the chain.

use super::{
    default_retry_for, default_retry_pause, FieldError, Listener, Load, Master, Model, Pool,
    SimSettings, Work, MAX_SERVICES,
};
use crate::dist::DistSpec;
use crate::families::{self, Family, Settings};
use serde::{Deserialize, Serialize};

/// How a service hands a connection to its `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handoff {
    /// The connection moves on and frees this process's slot (imap-login passes the
    /// client's descriptor to imap).
    #[default]
    Pass,
    /// This process keeps the slot until the reply comes back through it (nginx; an
    /// imap-login proxying TLS).
    Proxy,
}

/// A hop's client rules: how a service's process connects to its `next`, as `load`
/// says how the clients connect to the first service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    #[serde(default)]
    pub on_refused: super::OnRefused,
    /// Unix retry window in seconds, counted from the first try; the process is
    /// blocked while it retries (imap-login: semantics: dovecot-login-retry).
    #[serde(default = "default_retry_for")]
    pub retry_for: f64,
    #[serde(default = "default_retry_pause")]
    pub retry_pause: DistSpec,
    /// TCP: give up connecting after this many seconds (nginx proxy_connect_timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<f64>,
    /// Give up waiting for the reply after this many seconds (nginx
    /// proxy_read_timeout: a 504).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
}

impl Default for Connect {
    fn default() -> Self {
        Connect {
            on_refused: super::OnRefused::Fail,
            retry_for: default_retry_for(),
            retry_pause: default_retry_pause(),
            connect_timeout: None,
            timeout: None,
        }
    }
}

/// One service: a single-service file's (named "") or one of a chain's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// Optional in a chain: a Dovecot service derives its backlog.
    #[serde(default)]
    pub listener: Listener,
    pub pool: Pool,
    #[serde(default)]
    pub master: Master,
    pub work: Work,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "connect")]
    connect_table: Option<Connect>,
    /// The hop's rules (defaults when the file gives no `connect` table).
    #[serde(skip)]
    pub connect: Connect,
    /// Whether the file gave a `connect` table.
    #[serde(skip)]
    pub connect_given: bool,
}

impl Service {
    /// A service of these tables, with no next service.
    pub fn new(name: &str, listener: &Listener, pool: &Pool, master: &Master, work: &Work) -> Self {
        Service {
            name: name.to_string(),
            listener: listener.clone(),
            pool: pool.clone(),
            master: master.clone(),
            work: work.clone(),
            next: None,
            handoff: None,
            connect_table: None,
            connect: Connect::default(),
            connect_given: false,
        }
    }

    fn settle(&mut self) {
        self.connect_given = self.connect_table.is_some();
        self.connect = self.connect_table.clone().unwrap_or_default();
    }

    /// The path of this service's `field` ("pool.process_limit") as the user's file
    /// writes it: the field itself in a single-service file, `services.NAME.field` in
    /// a chain.
    pub fn path(&self, field: &str) -> String {
        if self.name.is_empty() {
            field.to_string()
        } else {
            format!("services.{}.{field}", self.name)
        }
    }

    /// What the rules of this service's family read of it.
    pub(crate) fn settings(&self) -> Settings<'_> {
        super::settings(
            &self.pool,
            self.master.mode,
            self.master.dovecot_version.as_deref(),
        )
    }

    /// What this service's family does with its spare settings when its
    /// `pool.process_limit` is set to `n` below them (None when they fit): the rule a
    /// plan and a sweep follow when they move the limit.
    pub fn spares_at_limit(&self, n: u32) -> Option<families::SpareFit> {
        self.family().spares_at_limit(&self.settings(), n)
    }

    /// The server family whose rules this service follows.
    pub(crate) fn family(&self) -> &'static dyn Family {
        families::of(self.master.mode, self.master.dovecot_version.as_deref())
    }

    /// What listen() is given: `listener.backlog`, cut by the family's cap (a Dovecot
    /// version's; semantics: dovecot-backlog-cap).
    pub fn listen_backlog(&self) -> u32 {
        let cap = self.family().backlog_cap(&self.settings());
        cap.map_or(self.listener.backlog, |c| self.listener.backlog.min(c))
    }

    /// Pending connections the kernel holds: min(backlog, somaxconn) + 1, because both
    /// unix_recvq_full() and sk_acceptq_is_full() test `>` (semantics: unix-capacity,
    /// tcp-capacity, somaxconn-cap).
    pub fn queue_capacity(&self) -> u64 {
        u64::from(self.listen_backlog().min(self.listener.somaxconn)) + 1
    }
}

/// A model file as written: one service at the top level, or `[[services]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    name: String,
    #[serde(default)]
    description: String,
    load: Load,
    listener: Option<Listener>,
    pool: Option<Pool>,
    master: Option<Master>,
    work: Option<Work>,
    services: Option<Vec<Service>>,
    #[serde(default)]
    sim: SimSettings,
}

impl RawModel {
    /// The model, its shape checked: a single service needs its tables, a chain gives
    /// them per service only.
    pub(super) fn into_model(self) -> Result<Model, FieldError> {
        let missing = |table: &str, what: &str| {
            super::bad(
                table,
                format!(
                    "is required: {what} (or give a chain of [[services]], each with its own \
                     tables)"
                ),
            )
        };
        match self.services {
            Some(mut services) => {
                if services.is_empty() {
                    return Err(super::bad(
                        "services",
                        "is empty: give at least one [[services]] table",
                    ));
                }
                check_count(services.len())?;
                for (table, given) in [
                    ("listener", self.listener.is_some()),
                    ("pool", self.pool.is_some()),
                    ("master", self.master.is_some()),
                    ("work", self.work.is_some()),
                ] {
                    if given {
                        return Err(super::bad(
                            table,
                            format!(
                                "a chain gives its tables per service: move [{table}] into \
                                 a [[services]] entry (paths: services.NAME.{table}....)"
                            ),
                        ));
                    }
                }
                check_names(&services)?;
                for s in &mut services {
                    s.settle();
                }
                share_dovecot_version(&mut services)?;
                Ok(Model {
                    name: self.name,
                    description: self.description,
                    load: self.load,
                    services,
                    sim: self.sim,
                })
            }
            None => {
                let listener = self
                    .listener
                    .ok_or_else(|| missing("listener", "the listening socket's table"))?;
                let pool = self
                    .pool
                    .ok_or_else(|| missing("pool", "the worker processes' table"))?;
                let work = self
                    .work
                    .ok_or_else(|| missing("work", "the work of a connection"))?;
                let master = self.master.unwrap_or_default();
                Ok(Model {
                    name: self.name,
                    description: self.description,
                    load: self.load,
                    services: vec![Service::new("", &listener, &pool, &master, &work)],
                    sim: self.sim,
                })
            }
        }
    }
}

/// A chain has at most `MAX_SERVICES` services.
pub(super) fn check_count(n: usize) -> Result<(), FieldError> {
    if n > MAX_SERVICES {
        return Err(super::bad(
            "services",
            format!(
                "{n} services: a chain has at most {MAX_SERVICES} (real ones have two or three)"
            ),
        ));
    }
    Ok(())
}

/// A chain's names: each non-empty, of letters, digits, `-` and `_` (it is used in
/// paths), and unique. Only a single-service file's one service has an empty name.
fn check_names(services: &[Service]) -> Result<(), FieldError> {
    for (i, s) in services.iter().enumerate() {
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(super::bad(
                &format!("services[{i}].name"),
                format!(
                    "`{}` is not a service name: give letters, digits, `-` or `_` \
                     (it is used in paths such as services.NAME.pool.process_limit)",
                    crate::error::quoted(&s.name)
                ),
            ));
        }
        if services[..i].iter().any(|t| t.name == s.name) {
            return Err(super::bad(
                &format!("services.{}.name", s.name),
                format!(
                    "two services are named `{}`: give each its own name",
                    s.name
                ),
            ));
        }
    }
    Ok(())
}

/// One master runs one Dovecot version: a version named by one service of a
/// `master.process` applies its rules to every service that master forks for
/// (semantics: dovecot-fork-serial), and two different versions under one master are
/// refused.
fn share_dovecot_version(services: &mut [Service]) -> Result<(), FieldError> {
    let mut versions: Vec<(String, String, String)> = Vec::new();
    for s in services.iter() {
        if let (Some(label), Some(v)) = (&s.master.process, &s.master.dovecot_version) {
            match versions.iter().find(|(l, _, _)| l == label) {
                Some((_, first, by)) if first != v => {
                    return Err(super::bad(
                        &format!("services.{}.master.dovecot_version", s.name),
                        format!(
                            "\"{v}\", but services.{by} shares master.process \"{label}\" \
                             and names \"{first}\": one master runs one version; give the same \
                             version (or give it once)"
                        ),
                    ));
                }
                Some(_) => {}
                None => versions.push((label.clone(), v.clone(), s.name.clone())),
            }
        }
    }
    for s in services.iter_mut() {
        if s.master.dovecot_version.is_none() {
            if let Some(label) = &s.master.process {
                if let Some((_, v, _)) = versions.iter().find(|(l, _, _)| l == label) {
                    s.master.dovecot_version = Some(v.clone());
                }
            }
        }
    }
    Ok(())
}

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

/// A single-service model as it has always been written.
#[derive(Serialize)]
struct SingleView<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    load: &'a Load,
    listener: &'a Listener,
    pool: &'a Pool,
    master: &'a Master,
    work: &'a Work,
    sim: &'a SimSettings,
}

/// A chain.
#[derive(Serialize)]
struct ChainView<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    load: &'a Load,
    services: Vec<ServiceView<'a>>,
    sim: &'a SimSettings,
}

/// A service as written, with its `connect` table when it has a next.
#[derive(Serialize)]
struct ServiceView<'a> {
    name: &'a str,
    listener: &'a Listener,
    pool: &'a Pool,
    master: &'a Master,
    work: &'a Work,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    handoff: Option<Handoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connect: Option<&'a Connect>,
}

impl Serialize for Model {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.is_chain() {
            let one = self.front();
            SingleView {
                name: &self.name,
                description: &self.description,
                load: &self.load,
                listener: &one.listener,
                pool: &one.pool,
                master: &one.master,
                work: &one.work,
                sim: &self.sim,
            }
            .serialize(s)
        } else {
            ChainView {
                name: &self.name,
                description: &self.description,
                load: &self.load,
                services: self
                    .services
                    .iter()
                    .map(|v| ServiceView {
                        name: &v.name,
                        listener: &v.listener,
                        pool: &v.pool,
                        master: &v.master,
                        work: &v.work,
                        next: v.next.as_deref(),
                        handoff: v.handoff,
                        connect: v.next.as_ref().map(|_| &v.connect),
                    })
                    .collect(),
                sim: &self.sim,
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Model {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawModel::deserialize(d)?
            .into_model()
            .map_err(|e| serde::de::Error::custom(format!("`{}`: {}", e.path, e.message)))
    }
}
