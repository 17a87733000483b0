//! Exact answers of small Markov chains, for the cases with no closed form: a general
//! birth-death chain (its stationary distribution; with Poisson arrivals the refusal
//! probability is the chance of the full state, by PASTA), which gives processor sharing
//! of `cpus` CPUs by `workers` processes (docs/oracles.md#cpu-sharing), and the chance
//! of at least one refusal during a peak whose arrival rate is piecewise constant,
//! starting empty, computed by uniformization (docs/oracles.md#peak). Both are pure
//! arithmetic on vectors of `K + 1` or `K + 2` states, with no powers or factorials that
//! could overflow.

/// Stationary distribution of a birth-death chain on `0..=K`: `birth[n]` is the rate
/// from `n` to `n + 1` (`n < K`), `death[n]` the rate from `n` to `n - 1` (`death[0]`
/// unused). Computed in logarithms and normalised with the largest term, so that no
/// product of ratios overflows or underflows before it is scaled.
pub fn birth_death_stationary(birth: &[f64], death: &[f64]) -> Vec<f64> {
    debug_assert_eq!(birth.len() + 1, death.len(), "K births and K + 1 deaths");
    let mut log_q = Vec::with_capacity(death.len());
    log_q.push(0.0);
    for n in 1..death.len() {
        let prev = log_q[n - 1];
        log_q.push(prev + (birth[n - 1] / death[n]).ln());
    }
    let top = log_q.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let q: Vec<f64> = log_q.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = q.iter().sum();
    q.into_iter().map(|x| x / total).collect()
}

/// The stationary measures of a pool of `workers` processes sharing `cpus` CPUs (cores
/// or a fractional CPU quota) by processor sharing, fed by Poisson arrivals at `lambda`
/// with exponential CPU work of mean `1/mu` and no other wait, and `K >= workers`
/// places in all (the workers plus the kernel queue's). With `n` connections in the
/// system `min(n, workers)` are being served, each progressing at
/// `min(1, cpus / busy)`, so the chain leaves `n` downwards at
/// `mu min(min(n, workers), cpus)`: M/M/min(workers, cpus)/K with the same places, a
/// fractional number of servers allowed.
pub fn cpu_sharing(lambda: f64, mu: f64, workers: u32, cpus: f64, k: u32) -> super::MmckResult {
    debug_assert!(lambda >= 0.0 && mu > 0.0 && cpus > 0.0 && workers >= 1 && k >= workers);
    let birth = vec![lambda; k as usize];
    let busy = |n: u32| f64::from(n.min(workers));
    let death: Vec<f64> = (0..=k).map(|n| mu * busy(n).min(cpus)).collect();
    let p = birth_death_stationary(&birth, &death);
    let mean_in_system: f64 = p.iter().enumerate().map(|(n, x)| n as f64 * x).sum();
    let mean_in_queue: f64 = p
        .iter()
        .enumerate()
        .map(|(n, x)| f64::from((n as u32).saturating_sub(workers)) * x)
        .sum();
    let mean_busy: f64 = p.iter().enumerate().map(|(n, x)| busy(n as u32) * x).sum();
    let throughput: f64 = p.iter().zip(&death).map(|(x, d)| x * d).sum();
    let (mean_time_in_system, mean_wait) = if throughput > 0.0 {
        (mean_in_system / throughput, mean_in_queue / throughput)
    } else {
        (1.0 / (mu * cpus.min(1.0)), 0.0)
    };
    super::MmckResult {
        refusal_probability: p[k as usize],
        throughput,
        mean_in_system,
        mean_in_queue,
        mean_busy,
        mean_time_in_system,
        mean_wait,
    }
}

/// A stretch of a peak: `duration` seconds of Poisson arrivals at `rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub duration: f64,
    pub rate: f64,
}

/// The chance that at least one arrival is refused during the pieces, one after another,
/// starting from an empty system: a birth-death system on `0..=K` whose state `n` is
/// left downwards at `death[n]` (`death.len() == K + 1`), with an absorbing state
/// "refused" that an arrival in state `K` enters. Each piece is solved by
/// uniformization: with `Λ` at least every state's total rate, `P = I + Q/Λ` and
/// `π(t) = Σ_n Poisson(n; Λt) π(0) Pⁿ`, the Poisson weights computed outward from their
/// mode and cut where they fall below 1e-30 of it; every term is non-negative, so a
/// small answer keeps its relative precision.
pub fn any_refusal_during(pieces: &[Piece], death: &[f64]) -> f64 {
    let k = death.len() - 1;
    // States 0..=K, then the absorbing "refused" at K + 1.
    let mut pi = vec![0.0; k + 2];
    pi[0] = 1.0;
    for piece in pieces {
        if piece.duration <= 0.0 {
            continue;
        }
        let lambda = piece.rate;
        let fastest = death.iter().copied().fold(0.0, f64::max);
        let big = lambda + fastest;
        if big <= 0.0 {
            continue;
        }
        let weights = poisson_weights(big * piece.duration);
        let mut v = pi.clone();
        let mut next = vec![0.0; k + 2];
        let mut out = vec![0.0; k + 2];
        for (n, w) in weights.iter().enumerate() {
            if n > 0 {
                step(&v, &mut next, lambda, death, big);
                std::mem::swap(&mut v, &mut next);
            }
            if *w > 0.0 {
                for (o, x) in out.iter_mut().zip(&v) {
                    *o += w * x;
                }
            }
        }
        pi = out;
    }
    pi[k + 1]
}

/// One step of the uniformized chain: `next = v P`.
fn step(v: &[f64], next: &mut [f64], lambda: f64, death: &[f64], big: f64) {
    let k = death.len() - 1;
    next.iter_mut().for_each(|x| *x = 0.0);
    for n in 0..=k {
        let mass = v[n];
        if mass == 0.0 {
            continue;
        }
        let up = lambda / big;
        let down = if n > 0 { death[n] / big } else { 0.0 };
        // An arrival in the full state is the refusal.
        let target = n + 1;
        next[target] += mass * up;
        if n > 0 {
            next[n - 1] += mass * down;
        }
        next[n] += mass * (1.0 - up - down);
    }
    next[k + 1] += v[k + 1];
}

/// Poisson(m) probabilities for n = 0, 1, ..., up to where they become negligible,
/// computed outward from the mode and normalised by their sum (n below the left cut-off
/// get weight 0: they are below 1e-30 of the mode's).
fn poisson_weights(m: f64) -> Vec<f64> {
    let mode = m.floor() as usize;
    let cut = 1e-30;
    let mut right = vec![1.0];
    let mut w = 1.0;
    let mut n = mode;
    while w > cut {
        w *= m / (n + 1) as f64;
        n += 1;
        right.push(w);
    }
    let mut left = Vec::new();
    let mut w = 1.0;
    let mut n = mode;
    while n > 0 && w > cut {
        w *= n as f64 / m;
        n -= 1;
        left.push(w);
    }
    let first = mode - left.len();
    let mut weights = vec![0.0; first];
    weights.extend(left.iter().rev());
    weights.extend(right);
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|x| *x /= total);
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn a_birth_death_chain_with_c_servers_is_mmck() {
        for (lambda, mu, c, k) in [(8.0, 4.0, 5, 12), (18.0, 4.0, 5, 12), (8.0, 1.0, 10, 30)] {
            let death: Vec<f64> = (0..=k).map(|n: u32| mu * f64::from(n.min(c))).collect();
            let p = birth_death_stationary(&vec![lambda; k as usize], &death);
            let exact = super::super::mmck(lambda, mu, c, k).refusal_probability;
            assert!(rel(p[k as usize], exact) < 1e-12, "{lambda} {mu} {c} {k}");
        }
    }

    #[test]
    fn whole_cpus_at_or_above_the_workers_change_nothing_and_one_cpu_is_one_server() {
        let shared = cpu_sharing(8.0, 1.0, 10, 16.0, 30).refusal_probability;
        let alone = super::super::mmck(8.0, 1.0, 10, 30).refusal_probability;
        assert!(rel(shared, alone) < 1e-12);
        // Eight workers on one CPU serve one request's worth at a time: M/M/1/K.
        let one = cpu_sharing(15.0, 20.0, 8, 1.0, 17).refusal_probability;
        assert!(rel(one, super::super::mm1k(0.75, 17)) < 1e-12);
    }

    #[test]
    fn a_fractional_quota_serves_at_its_fraction() {
        // Two workers, 1.5 CPUs, K = 3: death rates 0, mu, 1.5 mu, 1.5 mu.
        let (l, mu) = (2.0, 1.0);
        let q = [
            1.0,
            l / mu,
            l * l / (mu * 1.5 * mu),
            l * l * l / (mu * 2.25 * mu * mu),
        ];
        let exact = q[3] / q.iter().sum::<f64>();
        let got = cpu_sharing(l, mu, 2, 1.5, 3);
        assert!(rel(got.refusal_probability, exact) < 1e-12);
        // Throughput = arrivals accepted.
        assert!(rel(got.throughput, l * (1.0 - exact)) < 1e-12);
    }

    #[test]
    fn one_place_refuses_during_a_peak_as_the_two_state_chain_says() {
        // M/M/1/1 from empty: survival S(t) = a e^(r1 t) + b e^(r2 t) with S(0) = 1 and
        // S'(0) = 0, r1,2 the eigenvalues of [[-l, l], [mu, -(mu + l)]].
        let (l, mu) = (3.0_f64, 2.0_f64);
        let tr = -(2.0 * l + mu);
        let det = l * l;
        let disc = (tr * tr - 4.0 * det).sqrt();
        let (r1, r2) = ((tr + disc) / 2.0, (tr - disc) / 2.0);
        let (a, b) = (r2 / (r2 - r1), -r1 / (r2 - r1));
        for t in [0.01_f64, 0.3, 2.0, 10.0] {
            let exact = 1.0 - (a * (r1 * t).exp() + b * (r2 * t).exp());
            let got = any_refusal_during(
                &[Piece {
                    duration: t,
                    rate: l,
                }],
                &[0.0, mu],
            );
            assert!(rel(got, exact) < 1e-9, "t = {t}: {got} vs {exact}");
        }
    }

    #[test]
    fn a_peak_split_into_pieces_of_the_same_rate_is_the_same_peak() {
        let death: Vec<f64> = (0..=12u32).map(|n| 4.0 * f64::from(n.min(5))).collect();
        let whole = any_refusal_during(
            &[Piece {
                duration: 30.0,
                rate: 10.0,
            }],
            &death,
        );
        let parts: Vec<Piece> = (0..3)
            .map(|_| Piece {
                duration: 10.0,
                rate: 10.0,
            })
            .collect();
        assert!(rel(any_refusal_during(&parts, &death), whole) < 1e-10);
        assert!(whole > 0.0 && whole < 1.0);
    }

    #[test]
    fn a_quiet_stretch_before_the_peak_changes_little_and_a_long_peak_nearly_surely_refuses() {
        let death: Vec<f64> = (0..=12u32).map(|n| 4.0 * f64::from(n.min(5))).collect();
        let peak = Piece {
            duration: 20.0,
            rate: 18.0,
        };
        let alone = any_refusal_during(&[peak], &death);
        let after_quiet = any_refusal_during(
            &[
                Piece {
                    duration: 50.0,
                    rate: 1.0,
                },
                peak,
            ],
            &death,
        );
        // A quiet hour adds its own tiny chance and starts the peak nearly empty.
        assert!(after_quiet >= alone && after_quiet - alone < 1e-3);
        // At 18/s, above what five processes serve at 4/s each (M/M/5/12 refuses 0.054
        // of arrivals), a refusal within an hour is certain.
        let long = any_refusal_during(
            &[Piece {
                duration: 3600.0,
                rate: 18.0,
            }],
            &death,
        );
        assert!(long > 1.0 - 1e-9);
    }
}
