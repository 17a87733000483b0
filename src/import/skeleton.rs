//! The one order in which the configuration importers (doveconf, php-fpm, apache) write
//! a model file: the header (what the model is and where each number comes from), the
//! settings it leaves out and the count of those it ignores, the notes, `name` and
//! `description`, `[load]`, the service's tables (`[listener]`, `[pool]`, `[master]`,
//! `[work]`; for a chain, each `[[services]]` entry around them), then `[sim]`. Each
//! importer says what goes into each part (`ModelText`); `write_model` puts them in
//! order, with the blank lines between them.

use super::common::LeftOut;
use super::text::{capitalise, Out};

/// What one importer writes into each part of the model file; `i` is the service (0
/// for a model of one service).
pub(in crate::import) trait ModelText {
    /// The comment block at the top: what the model is, where each number comes from.
    fn header(&self, o: &mut Out);
    /// What the model leaves out of the file.
    fn left_out(&self) -> &LeftOut;
    /// Things the user should know, as a `# Notes:` list.
    fn notes(&self) -> &[String];
    /// Whether the notes close the header (doveconf's, which are about the version the
    /// header names) rather than follow the list of what was left out.
    fn notes_in_header(&self) -> bool {
        false
    }
    /// The top-level `name` and `description`.
    fn name(&self, o: &mut Out);
    fn load(&self, o: &mut Out);
    /// How many services the model has; more than one is written as a chain.
    fn services(&self) -> usize {
        1
    }
    /// Whether the services are `[[services]]` entries (a chain, of one or more).
    fn is_chain(&self) -> bool {
        self.services() > 1
    }
    /// A chain entry's first lines: `[[services]]`, its name, `next`, `handoff`.
    fn entry_head(&self, _o: &mut Out, _i: usize) {}
    /// A chain entry's last lines (its hop's `[services.connect]`), blank line first.
    fn entry_tail(&self, _o: &mut Out, _i: usize) {}
    fn listener(&self, o: &mut Out, i: usize);
    fn pool(&self, o: &mut Out, i: usize);
    fn master(&self, o: &mut Out, i: usize);
    fn work(&self, o: &mut Out, i: usize);
    fn sim(&self, o: &mut Out);
}

/// The model file, its parts in the one order.
pub(in crate::import) fn write_model(m: &dyn ModelText) -> String {
    let mut o = Out::default();
    m.header(&mut o);
    if m.notes_in_header() {
        write_notes(&mut o, m.notes());
    }
    write_left_out(&mut o, m.left_out());
    if !m.notes_in_header() {
        write_notes(&mut o, m.notes());
    }
    m.name(&mut o);
    o.raw("");
    m.load(&mut o);
    let tables: [fn(&dyn ModelText, &mut Out, usize); 4] = [
        |m, o, i| m.listener(o, i),
        |m, o, i| m.pool(o, i),
        |m, o, i| m.master(o, i),
        |m, o, i| m.work(o, i),
    ];
    for i in 0..m.services() {
        if m.is_chain() {
            o.raw("");
            m.entry_head(&mut o, i);
        }
        for table in tables {
            o.raw("");
            table(m, &mut o, i);
        }
        if m.is_chain() {
            m.entry_tail(&mut o, i);
        }
    }
    o.raw("");
    m.sim(&mut o);
    o.into_text()
}

/// The settings the model leaves out, and the count of the rest, as a comment block.
fn write_left_out(o: &mut Out, l: &LeftOut) {
    o.raw("#");
    if l.unused.is_empty() {
        o.wrap(
            "#",
            "#",
            &format!("Settings of {} that the model does not use: none.", l.part),
        );
    } else {
        o.wrap(
            "#",
            "#",
            &format!(
                "Settings of {} that the model does not use ({}):",
                l.part,
                l.unused.len()
            ),
        );
        for u in &l.unused {
            o.bullet(&u.describe(l.notation));
        }
    }
    o.wrap("#", "#", &format!("{}.", capitalise(&l.ignored_line())));
}

/// The notes, if any.
pub(in crate::import) fn write_notes(o: &mut Out, notes: &[String]) {
    if !notes.is_empty() {
        o.raw("#");
        o.raw("# Notes:");
        for n in notes {
            o.bullet(n);
        }
    }
}

/// The line before the bullets that say where the numbers come from.
pub(in crate::import) fn write_sources_title(o: &mut Out) {
    o.raw("# Where the numbers come from (docs/semantics.md in the eagain repository; each");
    o.raw("# \"eagain semantics: ID\" is one of its sections):");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::common::{Notation, Setting, Unused};

    /// A model whose parts write their own names, to see the order.
    struct Parts {
        left_out: LeftOut,
        notes: Vec<String>,
        services: usize,
        notes_in_header: bool,
    }

    impl ModelText for Parts {
        fn header(&self, o: &mut Out) {
            o.raw("# header");
        }
        fn left_out(&self) -> &LeftOut {
            &self.left_out
        }
        fn notes(&self) -> &[String] {
            &self.notes
        }
        fn notes_in_header(&self) -> bool {
            self.notes_in_header
        }
        fn name(&self, o: &mut Out) {
            o.raw("name");
        }
        fn load(&self, o: &mut Out) {
            o.raw("load");
        }
        fn services(&self) -> usize {
            self.services
        }
        fn entry_head(&self, o: &mut Out, i: usize) {
            o.raw(&format!("head {i}"));
        }
        fn entry_tail(&self, o: &mut Out, i: usize) {
            o.raw("");
            o.raw(&format!("tail {i}"));
        }
        fn listener(&self, o: &mut Out, i: usize) {
            o.raw(&format!("listener {i}"));
        }
        fn pool(&self, o: &mut Out, i: usize) {
            o.raw(&format!("pool {i}"));
        }
        fn master(&self, o: &mut Out, i: usize) {
            o.raw(&format!("master {i}"));
        }
        fn work(&self, o: &mut Out, i: usize) {
            o.raw(&format!("work {i}"));
        }
        fn sim(&self, o: &mut Out) {
            o.raw("sim");
        }
    }

    fn parts(services: usize, notes_in_header: bool) -> Parts {
        Parts {
            left_out: LeftOut {
                part: "pool [www]".into(),
                part_in_report: "of pool [www]".into(),
                unused: vec![Unused::new(
                    &Setting {
                        line: 2,
                        sections: vec!["[www]".into()],
                        key: "user".into(),
                        value: "www-data".into(),
                    },
                    "why",
                )],
                ignored: 1,
                ignored_place: "outside pool [www]".into(),
                notation: Notation::Ini,
            },
            notes: vec!["a note".into()],
            services,
            notes_in_header,
        }
    }

    #[test]
    fn one_service_is_written_header_left_out_notes_name_load_tables_sim() {
        assert_eq!(
            write_model(&parts(1, false)),
            "# header\n#\n# Settings of pool [www] that the model does not use (1):\n\
             # - line 2: [www] user = www-data: why\n\
             # Ignored 1 setting outside pool [www] (the model does not need them).\n\
             #\n# Notes:\n# - a note\nname\n\nload\n\nlistener 0\n\npool 0\n\nmaster 0\n\n\
             work 0\n\nsim\n"
        );
    }

    #[test]
    fn a_chain_writes_each_entry_around_its_tables_and_notes_may_close_the_header() {
        let text = write_model(&parts(2, true));
        assert!(
            text.starts_with("# header\n#\n# Notes:\n# - a note\n#\n# Settings of"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "name\n\nload\n\nhead 0\n\nlistener 0\n\npool 0\n\nmaster 0\n\nwork 0\n\n\
                 tail 0\n\nhead 1\n\nlistener 1\n\npool 1\n\nmaster 1\n\nwork 1\n\ntail 1\n\n\
                 sim\n"
            ),
            "{text}"
        );
    }
}
