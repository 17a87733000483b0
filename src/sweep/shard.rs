//! `--shard K/N` and `--shard auto/N`: which points of the grid one task runs (every
//! N-th from K). With `auto`, K is the task's index in a batch scheduler's array, read
//! from the variable the scheduler sets (SPEC section 15), so that every task of the
//! array runs the same command line.

use crate::error::{quoted, BadInput};
use serde::{Deserialize, Serialize};

/// The variables a batch scheduler sets to a task's index in its array, and whose.
pub const INDEX_VARIABLES: [(&str, &str); 3] = [
    ("SLURM_ARRAY_TASK_ID", "a Slurm job array"),
    ("JOB_COMPLETION_INDEX", "a Kubernetes Indexed Job"),
    ("AWS_BATCH_JOB_ARRAY_INDEX", "an AWS Batch array job"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// Parses `K/N` (0 <= K < N), or `auto/N` with K from the scheduler's variable that
    /// `env` gives; returns the shard and, for `auto`, the variable K came from.
    pub fn resolve(
        raw: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Shard, Option<&'static str>), BadInput> {
        let bad = || {
            BadInput(format!(
                "--shard {}: write K/N with 0 <= K < N, for example --shard 0/4 (this runs \
                 points 0, 4, 8, ... of the grid), or auto/N to take K from a batch \
                 scheduler's array index",
                quoted(raw)
            ))
        };
        let (k, n) = raw.split_once('/').ok_or_else(bad)?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        if k.trim() != "auto" {
            let k: usize = k.trim().parse().map_err(|_| bad())?;
            if k >= n {
                return Err(bad());
            }
            return Ok((Shard { k, n }, None));
        }
        let set: Vec<(&'static str, String)> = INDEX_VARIABLES
            .iter()
            .filter_map(|(name, _)| env(name).map(|v| (*name, v)))
            .collect();
        let Some((name, value)) = set.first() else {
            let names: Vec<String> = INDEX_VARIABLES
                .iter()
                .map(|(name, whose)| format!("{name} ({whose})"))
                .collect();
            return Err(BadInput(format!(
                "--shard auto/{n}: none of {} is set, so this is not a task of a scheduler's \
                 array; submit it as one (sbatch --array=0-{}, a Job with completionMode: \
                 Indexed and completions: {n}, or an array job of size {n}), or give the \
                 index yourself: --shard K/{n}",
                names.join(", "),
                n - 1
            )));
        };
        if let Some((other, v)) = set.iter().find(|(_, v)| v != value) {
            return Err(BadInput(format!(
                "--shard auto/{n}: {name} is {} but {other} is {}: two schedulers' indices \
                 disagree; unset the one that is not this task's, or give --shard K/{n}",
                quoted(value),
                quoted(v)
            )));
        }
        match value.trim().parse::<usize>() {
            Ok(k) if k < n => Ok((Shard { k, n }, Some(name))),
            _ => Err(BadInput(format!(
                "--shard auto/{n}: {name} is {}, not an index from 0 to {}: the array must \
                 have exactly {n} tasks numbered from 0 (sbatch --array=0-{}, completions: \
                 {n}, or an array size of {n}), or N must be the array's size",
                quoted(value),
                n - 1,
                n - 1
            ))),
        }
    }

    /// Whether this shard runs grid point `index`.
    pub fn owns(&self, index: usize) -> bool {
        index % self.n == self.k
    }

    /// How many points of a grid of `total` this shard runs.
    pub fn size(&self, total: usize) -> usize {
        total / self.n + usize::from(self.k < total % self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn k_over_n_is_taken_as_given_and_auto_from_each_scheduler() {
        assert_eq!(
            Shard::resolve("1/4", with(&[])).unwrap(),
            (Shard { k: 1, n: 4 }, None)
        );
        for (name, _) in INDEX_VARIABLES {
            assert_eq!(
                Shard::resolve("auto/4", with(&[(name, "3")])).unwrap(),
                (Shard { k: 3, n: 4 }, Some(name))
            );
        }
        // Two schedulers agreeing is no conflict.
        let both = with(&[("SLURM_ARRAY_TASK_ID", "2"), ("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(
            Shard::resolve("auto/3", both).unwrap().0,
            Shard { k: 2, n: 3 }
        );
    }

    #[test]
    fn auto_without_an_index_or_with_one_out_of_range_names_the_variables() {
        let e = Shard::resolve("auto/4", with(&[])).unwrap_err().0;
        for (name, _) in INDEX_VARIABLES {
            assert!(e.contains(name), "{e}");
        }
        assert!(e.contains("--array=0-3"), "{e}");
        for bad in ["4", "-1", "x", ""] {
            let e = Shard::resolve("auto/4", with(&[("SLURM_ARRAY_TASK_ID", bad)]))
                .unwrap_err()
                .0;
            assert!(
                e.contains("SLURM_ARRAY_TASK_ID is") && e.contains("from 0 to 3"),
                "{e}"
            );
        }
        let e = Shard::resolve(
            "auto/4",
            with(&[("SLURM_ARRAY_TASK_ID", "1"), ("JOB_COMPLETION_INDEX", "2")]),
        )
        .unwrap_err()
        .0;
        assert!(e.contains("disagree"), "{e}");
        for bad in ["auto/0", "auto", "4/4", "1/x", "auto/x"] {
            assert!(Shard::resolve(bad, with(&[("SLURM_ARRAY_TASK_ID", "0")])).is_err());
        }
    }

    #[test]
    fn a_shards_size_counts_its_points() {
        for total in 0..20 {
            for n in 1..6 {
                let sum: usize = (0..n).map(|k| Shard { k, n }.size(total)).sum();
                assert_eq!(sum, total);
                for k in 0..n {
                    let s = Shard { k, n };
                    assert_eq!(s.size(total), (0..total).filter(|&i| s.owns(i)).count());
                }
            }
        }
    }
}
