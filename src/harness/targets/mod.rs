//! The servers the harness measures: one file per target beside this one (the trait
//! they implement is `../target.rs`), and a line in `REGISTRY`, which is also the list
//! `--target` takes. What several targets share is in `shared.rs` (finding programs,
//! the checks of a server with one connection per process, probes) and `nginx.rs`
//! (nginx in front of a pool); `logs.rs` counts lines of a server's own logs.

mod apache;
mod builtin;
pub(crate) mod courier;
mod dovecot;
mod logs;
pub(crate) mod mock;
mod nginx;
mod nginx_gunicorn;
mod php_fpm;
mod shared;

use super::target::Target;
use crate::error::BadInput;

/// Every target, in the order `--help` lists them.
const REGISTRY: &[&dyn Target] = &[
    &builtin::Builtin,
    &nginx_gunicorn::NginxGunicorn,
    &dovecot::Dovecot,
    &php_fpm::NginxPhpFpm,
    &apache::ApachePrefork,
    &courier::Courier,
    &mock::Mock,
];

/// The target `--target NAME` names.
pub(crate) fn find(name: &str) -> Result<&'static dyn Target, BadInput> {
    REGISTRY
        .iter()
        .copied()
        .find(|t| t.about().name == name)
        .ok_or_else(|| {
            let listed: Vec<&str> = REGISTRY
                .iter()
                .map(|t| t.about())
                .filter(|a| !a.hidden)
                .map(|a| a.name)
                .collect();
            BadInput(format!(
                "--target {name}: the targets are {}",
                listed.join(", ")
            ))
        })
}

/// The names `--target` takes, and whether `--help` leaves each out.
pub(crate) fn names() -> impl Iterator<Item = (&'static str, bool)> {
    REGISTRY.iter().map(|t| {
        let a = t.about();
        (a.name, a.hidden)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_found_by_its_name_and_names_are_unique() {
        let names: Vec<&str> = names().map(|(n, _)| n).collect();
        for n in &names {
            assert_eq!(find(n).unwrap().about().name, *n);
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
    }

    #[test]
    fn an_unknown_target_lists_the_visible_ones() {
        let e = find("apache").err().unwrap().0;
        assert_eq!(
            e,
            "--target apache: the targets are builtin, nginx-gunicorn, dovecot, \
             nginx-php-fpm, apache-prefork, courier"
        );
    }
}
