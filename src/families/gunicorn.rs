//! The fixed pool (`master.mode = "prefork"`): every process forked at t = 0 and
//! replaced when it exits, as gunicorn's arbiter does (semantics: gunicorn-respawn),
//! and nginx's master with its workers, PHP-FPM's pm = static (semantics:
//! php-fpm-static) and Unicorn (semantics: unicorn-pool). No tick, no spare servers,
//! and no backlog of its own: the model gives `listener.backlog` (gunicorn's 2048,
//! semantics: gunicorn-backlog).

use super::Family;

/// gunicorn, and every master that keeps a fixed pool.
pub struct Gunicorn;

impl Family for Gunicorn {}
