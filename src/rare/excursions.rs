//! What a pilot run learns about the importance, and the RESTART thresholds placed
//! from it.
//!
//! An excursion above level v starts when the importance rises to v or above from
//! below it (an up-crossing of v) and ends when it falls below v again. For each start
//! level the pilot counts the excursions and, for each, the highest level it reached
//! (`TOP`, one above every level, for an excursion in which a connection was refused).
//! Their ratio estimates p(a, b): the chance that a run which has just risen to a
//! reaches b (or a refusal) before it falls below a: exactly the conditional chance
//! each RESTART level must have (Villén-Altamirano's P(i+1 | i)).
//!
//! Excursions are nested (one above v + 1 lies inside one above v), so a trajectory
//! keeps its open ones on a stack, lowest level first; an excursion's highest level is
//! passed down to the one below it when it ends. A trajectory copied by the splitting
//! starts with no open excursion: it did not rise to the levels it starts above, and
//! counting them would count its parent's up-crossing again.

use std::collections::HashMap;

/// One level above every value of the importance: "a connection was refused".
pub(crate) const TOP: i64 = i64::MAX;

/// The excursions of every trajectory of a pilot, by start level.
#[derive(Debug, Default, Clone)]
pub(crate) struct Excursions {
    /// Excursions that ended, by start level.
    starts: HashMap<i64, u64>,
    /// Excursions that ended, by (start level, highest level reached).
    highest: HashMap<(i64, i64), u64>,
    /// Events seen at each level (the importance after the event).
    visits: HashMap<i64, u64>,
}

/// The open excursions of one trajectory: (start level, highest level so far), the
/// lowest start first.
#[derive(Debug, Default, Clone)]
pub(crate) struct Open(Vec<(i64, i64)>);

impl Open {
    /// The importance went from `before` to `after` in one event; `refused`: a
    /// connection was refused in it (at the state before).
    pub(crate) fn event(&mut self, before: i64, after: i64, refused: bool, into: &mut Excursions) {
        *into.visits.entry(after).or_insert(0) += 1;
        if refused {
            if let Some(top) = self.0.last_mut() {
                top.1 = TOP;
            }
        }
        if after > before {
            // Up-crossings of every level in (before, after].
            for v in before + 1..=after {
                self.0.push((v, after));
            }
        } else if after < before {
            // The excursions above every level in (after, before] end.
            while let Some(&(v, high)) = self.0.last() {
                if v <= after {
                    break;
                }
                self.0.pop();
                *into.starts.entry(v).or_insert(0) += 1;
                *into.highest.entry((v, high)).or_insert(0) += 1;
                if let Some(below) = self.0.last_mut() {
                    below.1 = below.1.max(high);
                }
            }
        }
    }
}

impl Excursions {
    /// Excursions that started at `a` and ended.
    pub(crate) fn started(&self, a: i64) -> u64 {
        self.starts.get(&a).copied().unwrap_or(0)
    }

    /// Of the excursions that started at `a`, those that reached `b` or higher.
    #[cfg(test)]
    pub(crate) fn reached(&self, a: i64, b: i64) -> u64 {
        self.highest
            .iter()
            .filter(|((v, high), _)| *v == a && *high >= b)
            .map(|(_, n)| n)
            .sum()
    }

    /// The levels excursions from `a` reached, highest first, each with how many
    /// reached it or higher.
    fn reach_from(&self, a: i64) -> Vec<(i64, u64)> {
        let mut highs: Vec<(i64, u64)> = self
            .highest
            .iter()
            .filter(|((v, _), _)| *v == a)
            .map(|((_, high), n)| (*high, *n))
            .collect();
        highs.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
        let mut total = 0;
        for h in &mut highs {
            total += h.1;
            h.1 = total;
        }
        highs
    }

    /// The median level of the events seen (the level a run spends its events at).
    pub(crate) fn median(&self) -> Option<i64> {
        let mut v: Vec<(i64, u64)> = self.visits.iter().map(|(k, n)| (*k, *n)).collect();
        v.sort_unstable();
        let total: u64 = v.iter().map(|x| x.1).sum();
        let mut seen = 0;
        for (level, n) in v {
            seen += n;
            if 2 * seen >= total {
                return Some(level);
            }
        }
        None
    }

    /// The lowest level from `from` up at or above which at most the fraction `tail`
    /// of the events were seen (None when no level above `from` was seen): where the
    /// plain run stops going often enough for splitting to pay for its copies.
    pub(crate) fn tail_from(&self, from: i64, tail: f64) -> Option<i64> {
        let total: u64 = self.visits.values().sum();
        let mut v: Vec<(i64, u64)> = self.visits.iter().map(|(k, n)| (*k, *n)).collect();
        v.sort_unstable_by_key(|x| std::cmp::Reverse(x.0));
        let mut above = 0;
        let mut found = None;
        for (level, n) in v {
            above += n;
            if level < from || above as f64 > tail * total as f64 {
                break;
            }
            found = Some(level);
        }
        found
    }

    /// The highest level seen.
    pub(crate) fn highest_seen(&self) -> Option<i64> {
        self.visits.keys().copied().max()
    }
}

/// How the thresholds are placed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    /// Each level's conditional chance is aimed at this or more (the next threshold is
    /// the highest level reached at least this often), and at most about twice it.
    pub aim: f64,
    /// The fewest ended excursions from a level, and the fewest of them reaching the
    /// next threshold, to trust their ratio.
    pub min_started: u64,
    pub min_reached: u64,
}

/// The next step up from level `a`: the highest level b (or `TOP`) that excursions from
/// `a` reach with a chance of at least `aim`, with that chance; the next level up when
/// even it is reached less often. None when the pilot saw too few excursions from `a`,
/// or too few reaching any level above it, to say.
pub(crate) fn next_step(ex: &Excursions, a: i64, how: &Placement) -> Option<(i64, f64)> {
    let started = ex.started(a);
    if started < how.min_started {
        return None;
    }
    let reach = ex.reach_from(a);
    let n = started as f64;
    // Highest first: the first level reached often enough is the step.
    let mut lowest_seen = None;
    for &(high, count) in &reach {
        if high <= a || count < how.min_reached {
            continue;
        }
        lowest_seen = Some((high, count));
        if count as f64 / n >= how.aim {
            return Some((high, count as f64 / n));
        }
    }
    // Even the lowest level above a reached often enough to count is rarer than the aim:
    // it is the next step (a level no finer exists between).
    let (high, count) = lowest_seen?;
    Some((high, count as f64 / n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A random walk on 0..=k that steps up with chance `up`, reflected at 0 and
    /// "refused" at k: p(a, a + 1) is the gambler's-ruin chance.
    fn walk(up: f64, k: i64, steps: usize) -> Excursions {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let mut ex = Excursions::default();
        let mut open = Open::default();
        let mut x = 0i64;
        for _ in 0..steps {
            let next = if rng.random_bool(up) {
                (x + 1).min(k)
            } else {
                (x - 1).max(0)
            };
            let refused = x == k && next == k;
            open.event(x, next, refused, &mut ex);
            x = next;
        }
        ex
    }

    #[test]
    fn the_chance_of_one_more_level_is_the_chance_of_a_first_step_up() {
        // From an up-crossing of a (at a), the walk reaches a + 1 before a - 1 exactly
        // when its first step is up.
        let ex = walk(0.3, 50, 400_000);
        for a in 1..4 {
            let p = ex.reached(a, a + 1) as f64 / ex.started(a) as f64;
            assert!((p - 0.3).abs() < 0.02, "a = {a}: {p}");
            // Two levels: up, then from a + 1 reach a + 2 before a - 1, the gambler's
            // ruin from 2 on {0..3} with r = q/p = 7/3: (1 - r^2) / (1 - r^3) = 0.37975.
            let two = ex.reached(a, a + 2) as f64 / ex.started(a) as f64;
            assert!((two - 0.3 * 0.37975).abs() < 0.01, "a = {a}: {two}");
        }
    }

    #[test]
    fn a_refusal_counts_as_reaching_every_level_and_the_top() {
        let ex = walk(0.6, 6, 200_000);
        let started = ex.started(5);
        let refused = ex.reached(5, TOP);
        assert!(refused > 0 && refused < started);
        assert_eq!(ex.reached(5, 6), ex.reached(5, 6).max(refused));
        // Each excursion from 6 ends when the walk leaves 6: it saw a refusal exactly
        // when its first step was up (0.6).
        let p = ex.reached(6, TOP) as f64 / ex.started(6) as f64;
        assert!((p - 0.6).abs() < 0.02, "{p}");
    }

    #[test]
    fn the_next_step_is_the_highest_level_reached_at_least_as_often_as_aimed() {
        let ex = walk(0.3, 50, 400_000);
        let how = Placement {
            aim: 0.25,
            min_started: 100,
            min_reached: 30,
        };
        // One level up is reached 0.3 of the time, two levels much less.
        let (b, p) = next_step(&ex, 2, &how).unwrap();
        assert_eq!(b, 3);
        assert!((p - 0.3).abs() < 0.03);
        // Aiming at 0.5: even one level is rarer, so it is the step.
        let strict = Placement { aim: 0.5, ..how };
        assert_eq!(next_step(&ex, 2, &strict).unwrap().0, 3);
        // A level never seen: nothing to say.
        assert!(next_step(&ex, 45, &how).is_none());
    }
}
