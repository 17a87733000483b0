//! Exact queueing results: Erlang B and C, M/M/c/K, M/M/1/K and M/D/1/K.
//!
//! This module owns the closed-form and exactly computable answers that the
//! simulator is tested against (see docs/oracles.md in the eagain repository): the refusal
//! probability of a pre-forking server with `c` processes and a total capacity of
//! `K` connections (`c` being served plus `K - c` pending in the kernel queue), the
//! mean number in the system and in the queue, and the inverse questions a planner
//! asks (how many processes for a target refusal rate, how much load for a given
//! pool). Every function is pure `f64` arithmetic, computed in a form that neither
//! overflows nor cancels for `c` up to a few thousand and `K` up to tens of
//! thousands: products of successive ratios `p_n / p_(n-1)` scaled to the largest
//! term, never `a^n` or `n!`. Inputs are checked by the caller; preconditions here
//! are `debug_assert!`s only. The chains without a closed form (processor sharing of
//! CPUs, the transient chance of a refusal during a peak) are in `markov.rs`.

mod markov;
pub use markov::{any_refusal_during, birth_death_stationary, cpu_sharing, Piece};

/// Erlang B, the refusal probability of M/G/c/c with offered load `a = λ/μ`:
/// `B(0) = 1`, `B(k) = a B(k-1) / (k + a B(k-1))`, the stable recursion for
/// `(a^c / c!) / Σ_{k=0..c} a^k / k!` (docs/oracles.md#erlang-b; any queueing text,
/// e.g. Gross et al., *Fundamentals of Queueing Theory*). Insensitive to the
/// service-time distribution beyond its mean.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    debug_assert!(
        a >= 0.0 && a.is_finite(),
        "offered load must be finite and >= 0"
    );
    let mut b = 1.0;
    for k in 1..=c {
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
    }
    b
}

/// Erlang C, the probability that an arrival waits in M/M/c:
/// `C = B / (1 - ρ (1 - B))` with `B = erlang_b(c, a)` and `ρ = a / c`; 1.0 when
/// `ρ >= 1` (docs/oracles.md#erlang-c; Gross et al., M/M/c).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    debug_assert!(c >= 1, "Erlang C needs at least one server");
    let rho = a / f64::from(c);
    if rho >= 1.0 {
        return 1.0;
    }
    let b = erlang_b(c, a);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean wait in queue of M/M/c: `W_q = C(c, λ/μ) / (c μ - λ)`, infinite when
/// `λ >= c μ` (docs/oracles.md#erlang-c; Gross et al., M/M/c).
pub fn erlang_c_mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    debug_assert!(c >= 1 && mu > 0.0 && lambda >= 0.0);
    let capacity = f64::from(c) * mu;
    if lambda >= capacity {
        return f64::INFINITY;
    }
    erlang_c(c, lambda / mu) / (capacity - lambda)
}

/// The stationary measures of an M/M/c/K queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmckResult {
    /// `p_K`: by PASTA, the fraction of arrivals refused.
    pub refusal_probability: f64,
    /// Accepted connections per unit time, `λ (1 - p_K)`.
    pub throughput: f64,
    /// `L`, mean number being served or pending.
    pub mean_in_system: f64,
    /// `L_q`, mean number pending (accepted, not yet taken by a process).
    pub mean_in_queue: f64,
    /// Mean number of busy processes, `a (1 - p_K)`.
    pub mean_busy: f64,
    /// `W = L / throughput` (Little's law), for an accepted connection.
    pub mean_time_in_system: f64,
    /// `W_q = L_q / throughput` (Little's law), for an accepted connection.
    pub mean_wait: f64,
}

/// Running sums of the unnormalised distribution `q_n ∝ p_n`.
#[derive(Default)]
struct Moments {
    total: f64,
    in_system: f64,
    in_queue: f64,
    busy: f64,
}

impl Moments {
    fn add(&mut self, n: u32, c: u32, q: f64) {
        self.total += q;
        self.in_system += f64::from(n) * q;
        self.in_queue += f64::from(n.saturating_sub(c)) * q;
        self.busy += f64::from(n.min(c)) * q;
    }
}

/// M/M/c/K with `K >= c`: `p_n = p_0 a^n / n!` for `n <= c`,
/// `p_n = p_0 a^n / (c! c^(n-c))` for `c < n <= K`, `Σ p_n = 1`, `a = λ/μ`
/// (docs/oracles.md#mmck; Gross et al., M/M/c/K). Computed from the ratios
/// `p_n / p_(n-1) = a / min(n, c)`, starting at the mode with weight 1 and walking
/// down and up, so every term lies in `[0, 1]`: no overflow for any `c` or `K`.
/// Throughput is computed as `μ × mean_busy`, which equals `λ (1 - p_K)` but does
/// not cancel when `p_K` is close to 1. With `λ = 0`, `W = 1/μ` and `W_q = 0`
/// (the limits as `λ → 0`).
pub fn mmck(lambda: f64, mu: f64, c: u32, k: u32) -> MmckResult {
    debug_assert!(
        lambda >= 0.0 && lambda.is_finite(),
        "λ must be finite and >= 0"
    );
    debug_assert!(mu > 0.0 && mu.is_finite(), "μ must be finite and > 0");
    debug_assert!(c >= 1 && k >= c, "need 1 <= c <= K");
    let a = lambda / mu;
    debug_assert!(a.is_finite(), "offered load λ/μ overflows");

    // The ratio a / min(n, c) exceeds 1 while n < a (n <= c) and, past c, exactly
    // when a > c: so the largest p_n is at K when a >= c, else at floor(a) < c.
    let mode = if a >= f64::from(c) {
        k
    } else {
        a.floor() as u32
    };
    let mut sums = Moments::default();
    sums.add(mode, c, 1.0);

    let mut q = 1.0;
    for n in (1..=mode).rev() {
        // q_(n-1) = q_n min(n, c) / a, each factor <= 1 below the mode.
        q *= f64::from(n.min(c)) / a;
        if q == 0.0 {
            break;
        }
        sums.add(n - 1, c, q);
    }

    let mut q_k = 1.0;
    for n in mode + 1..=k {
        q_k *= a / f64::from(n.min(c));
        if q_k == 0.0 {
            break;
        }
        sums.add(n, c, q_k);
    }

    let refusal_probability = q_k / sums.total;
    let mean_in_system = sums.in_system / sums.total;
    let mean_in_queue = sums.in_queue / sums.total;
    let mean_busy = sums.busy / sums.total;
    let throughput = mu * mean_busy;
    let (mean_time_in_system, mean_wait) = if throughput > 0.0 {
        (mean_in_system / throughput, mean_in_queue / throughput)
    } else {
        (1.0 / mu, 0.0)
    };
    MmckResult {
        refusal_probability,
        throughput,
        mean_in_system,
        mean_in_queue,
        mean_busy,
        mean_time_in_system,
        mean_wait,
    }
}

/// M/M/1/K refusal probability in closed form: `p_K = (1 - ρ) ρ^K / (1 - ρ^(K+1))`,
/// `1 / (K + 1)` at `ρ = 1` (docs/oracles.md#mm1k; Gross et al., M/M/1/K). Evaluated with
/// `expm1` of `K ln ρ` so that it neither cancels near `ρ = 1` nor overflows for
/// `ρ > 1` and large `K`.
pub fn mm1k(rho: f64, k: u32) -> f64 {
    debug_assert!(rho >= 0.0, "ρ must be >= 0");
    let kf = f64::from(k);
    if rho == 1.0 {
        return 1.0 / (kf + 1.0);
    }
    let x = rho.ln();
    if rho < 1.0 {
        // (ρ - 1) ρ^K / (ρ^(K+1) - 1)
        rho.powf(kf) * x.exp_m1() / ((kf + 1.0) * x).exp_m1()
    } else {
        // The same divided through by ρ^(K+1): (1 - 1/ρ) / (1 - ρ^-(K+1)).
        (-x).exp_m1() / (-(kf + 1.0) * x).exp_m1()
    }
}

/// Exact M/D/1/K refusal probability (constant service `d`, `K >= 1` in total),
/// from the departure-epoch chain of Brun and Garcia (J. Appl. Prob. 37(4), 2000;
/// docs/oracles.md#md1k): with `a_k = e^(-λd) (λd)^k / k!`, `π_0 = 1`,
/// `π_(j+1) = (π_j - π_0 a_j - Σ_{i=1..j} π_i a_(j-i+1)) / a_0`, normalised over
/// `{0..K-1}`, and `p_K = 1 - 1 / (π_0 + ρ)`, `ρ = λd` (any `ρ`, also `>= 1`).
///
/// The recursion is evaluated in its equivalent level-crossing form
/// `π_(j+1) a_0 = π_0 Ā_j + Σ_{i=1..j} π_i Ā_(j-i+1)`, `Ā_m = P(arrivals > m)`,
/// and `π_0 + ρ - 1` as the mean number of arrivals lost per service,
/// `π_0 T_(K-1) + Σ_{i=1..K-1} π_i T_(K-i)` with `T_m = E[(arrivals - m)^+]`:
/// sums of positive terms only, so tiny refusal probabilities keep their relative
/// accuracy and no subtraction amplifies rounding.
pub fn md1k(lambda: f64, d: f64, k: u32) -> f64 {
    debug_assert!(lambda >= 0.0 && d >= 0.0, "λ and d must be >= 0");
    debug_assert!(k >= 1, "K counts the connection in service, so K >= 1");
    let rho = lambda * d;
    debug_assert!(rho.is_finite());
    if rho > 700.0 {
        // a_0 = e^(-ρ) would underflow. With K >= 2, π_0 <= a_0 < e^(-700) is far
        // below one ulp of ρ, so p_K = 1 - 1/ρ to the last bit; K = 1 is Erlang B.
        return if k == 1 {
            rho / (1.0 + rho)
        } else {
            1.0 - 1.0 / rho
        };
    }
    let states = k as usize; // the chain lives on {0..K-1}
    let a0 = (-rho).exp();

    // a_0..a_(K-2) and, summed past them, Ā_(K-2) and T_(K-1). Beyond
    // l0 = max(K, 2ρ) successive terms shrink by at least half, so 80 more make the
    // truncated tail smaller than a rounding error of any sum that needs it.
    let mut tail = Vec::with_capacity(states.saturating_sub(1));
    let mut abar_last = 0.0; // Ā_(K-2) = Σ_{l >= K-1} a_l
    let mut t_last = 0.0; // T_(K-1) = Σ_{l >= K} (l - K + 1) a_l
    let l0 = (states as f64).max((2.0 * rho).ceil());
    let last = l0 as usize + 80;
    let mut a_l = a0;
    for l in 0..=last {
        if l > 0 {
            a_l *= rho / l as f64;
        }
        if l + 1 < states {
            tail.push(a_l);
        } else {
            abar_last += a_l;
            t_last += (l + 1 - states) as f64 * a_l;
        }
    }
    // Turn a_0..a_(K-2) into Ā_0..Ā_(K-2) in place: Ā_(m-1) = a_m + Ā_m.
    let mut acc = abar_last;
    for slot in tail.iter_mut().rev() {
        let a_m = *slot;
        *slot = acc;
        acc += a_m;
    }
    let abar = tail;

    // Unnormalised π, rescaled to sum 1 whenever the next step could overflow:
    // each new term is at most (current sum) / a_0.
    let rescale_above = 1e-3 * f64::MAX * a0;
    let mut pi = Vec::with_capacity(states);
    pi.push(1.0);
    let mut sum = 1.0;
    for j in 0..states - 1 {
        // π_i pairs with Ā_(j-i+1): π_1..π_j against Ā_j..Ā_1.
        let up = pi[0] * abar[j]
            + pi[1..=j]
                .iter()
                .zip(abar[1..=j].iter().rev())
                .map(|(p, t)| p * t)
                .sum::<f64>();
        let next = up / a0;
        pi.push(next);
        sum += next;
        if sum > rescale_above {
            pi.iter_mut().for_each(|p| *p /= sum);
            sum = 1.0;
        }
    }

    // Lost arrivals per service: π_0 T_(K-1) + π_1 T_(K-1) + π_2 T_(K-2) + ...
    // + π_(K-1) T_1, with T_(m) = T_(m+1) + Ā_m.
    let mut t = t_last;
    let mut lost = pi[0] * t;
    for (i, p) in pi.iter().enumerate().skip(1) {
        let m = states - i; // T_m multiplies π_i
        if m < states - 1 {
            t += abar[m];
        }
        lost += p * t;
    }
    let pi0 = pi[0] / sum;
    (lost / sum) / (pi0 + rho)
}

/// The smallest `c` in `1..=max_c` with
/// `mmck(λ, μ, c, c + extra_queue).refusal_probability <= target`, the pending
/// capacity `b = extra_queue` staying fixed while the pool grows (M/M/c/K as in
/// [`mmck`]); `None` if even `max_c` processes refuse more. Scans every `c`, so
/// the answer is the smallest one without relying on `p_K` falling with `c`.
pub fn mmck_min_servers(
    lambda: f64,
    mu: f64,
    extra_queue: u32,
    target: f64,
    max_c: u32,
) -> Option<u32> {
    debug_assert!((0.0..=1.0).contains(&target), "target is a probability");
    (1..=max_c).find(|&c| mmck(lambda, mu, c, c + extra_queue).refusal_probability <= target)
}

/// The largest arrival rate `λ` with M/M/c/K refusal probability
/// `p_K(λ) <= target` (as in [`mmck`]); `p_K` rises with `λ`, so a doubling search
/// brackets it and bisection narrows the bracket to `1e-9` relative. The result
/// itself meets the target. `target >= 1` gives infinity, `target <= 0` gives 0.
pub fn mmck_max_rate(mu: f64, c: u32, k: u32, target: f64) -> f64 {
    debug_assert!(mu > 0.0 && c >= 1 && k >= c);
    if target >= 1.0 {
        return f64::INFINITY;
    }
    if target <= 0.0 {
        return 0.0;
    }
    let meets = |lambda: f64| mmck(lambda, mu, c, k).refusal_probability <= target;
    let start = f64::from(c) * mu;
    let (mut lo, mut hi);
    if meets(start) {
        lo = start;
        hi = 2.0 * start;
        while meets(hi) {
            lo = hi;
            hi *= 2.0;
            if !(hi / mu).is_finite() {
                return lo;
            }
        }
    } else {
        hi = start;
        lo = 0.5 * start;
        while !meets(lo) {
            hi = lo;
            lo *= 0.5;
        }
    }
    while hi - lo > 1e-9 * lo {
        let mid = 0.5 * (lo + hi);
        if meets(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `|actual - expected| <= tol`, naming the case on failure.
    fn assert_close(case: &str, actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "{case}: got {actual:e}, expected {expected:e} within {tol:e}"
        );
    }

    fn assert_rel(case: &str, actual: f64, expected: f64, rel: f64) {
        assert_close(case, actual, expected, rel * expected.abs());
    }

    /// The literal recursion of docs/oracles.md#md1k, kept here as an independent check on
    /// the rearranged form in `md1k` (fine for small K and moderate ρ).
    fn md1k_literal(lambda: f64, d: f64, k: u32) -> f64 {
        let rho = lambda * d;
        let k = k as usize;
        let a: Vec<f64> = (0..=k)
            .scan(0.0, |p: &mut f64, j| {
                *p = if j == 0 {
                    (-rho).exp()
                } else {
                    *p * rho / j as f64
                };
                Some(*p)
            })
            .collect();
        let mut pi = vec![1.0];
        for j in 0..k.saturating_sub(1) {
            let s = (1..=j).fold(pi[j] - pi[0] * a[j], |s, i| s - pi[i] * a[j - i + 1]);
            pi.push(s / a[0]);
        }
        let sum: f64 = pi.iter().sum();
        1.0 - 1.0 / (pi[0] / sum + rho)
    }

    // Tolerances below are half a unit in the last digit the oracle table prints.

    #[test]
    fn erlang_b_matches_oracle_table() {
        assert_close("B(10, 5)", erlang_b(10, 5.0), 0.0183846, 5e-8);
        assert_close("B(5, 3)", erlang_b(5, 3.0), 0.1100543, 5e-8);
        assert_close("B(100, 80)", erlang_b(100, 80.0), 0.0039920, 5e-8);
    }

    #[test]
    fn erlang_c_matches_oracle_table() {
        assert_close("C(5, 4)", erlang_c(5, 4.0), 0.5541126, 5e-8);
    }

    #[test]
    fn erlang_c_is_one_and_wait_infinite_when_overloaded() {
        assert_eq!(erlang_c(5, 5.0), 1.0);
        assert_eq!(erlang_c(5, 7.5), 1.0);
        assert_eq!(erlang_c_mean_wait(5, 5.0, 1.0), f64::INFINITY);
        assert_eq!(erlang_c_mean_wait(5, 6.0, 1.0), f64::INFINITY);
    }

    #[test]
    fn mmck_matches_oracle_table() {
        assert_close(
            "M/M/5/12 λ=8 μ=4",
            mmck(8.0, 4.0, 5, 12).refusal_probability,
            5.869e-5,
            5e-9,
        );
        assert_close(
            "M/M/5/12 λ=18 μ=4",
            mmck(18.0, 4.0, 5, 12).refusal_probability,
            0.054289,
            5e-7,
        );
    }

    #[test]
    fn mm1k_matches_oracle_table() {
        assert_close("M/M/1/10 ρ=0.9", mm1k(0.9, 10), 0.0508137, 5e-8);
        assert_close(
            "M/M/1/10 ρ=0.9 via mmck",
            mmck(0.9, 1.0, 1, 10).refusal_probability,
            0.0508137,
            5e-8,
        );
    }

    #[test]
    fn md1k_matches_oracle_table_at_rho_09_and_rho_1() {
        assert_close("M/D/1/10 ρ=0.9", md1k(0.9, 1.0, 10), 0.0166317, 5e-8);
        assert_close("M/D/1/5 ρ=1", md1k(1.0, 1.0, 5), 0.1034489, 5e-8);
        // The same with the time unit changed: only λd matters.
        assert_close(
            "M/D/1/10 λ=90 d=0.01",
            md1k(90.0, 0.01, 10),
            0.0166317,
            5e-8,
        );
    }

    #[test]
    fn md1k_agrees_with_literal_brun_garcia_recursion() {
        for &(rho, k) in &[(0.2, 3), (0.9, 10), (1.0, 5), (1.7, 8), (3.0, 8), (0.5, 1)] {
            let got = md1k(rho, 1.0, k);
            let want = md1k_literal(rho, 1.0, k);
            assert_rel(&format!("ρ={rho} K={k}"), got, want, 1e-12);
        }
    }

    #[test]
    fn md1k_keeps_relative_accuracy_when_refusals_are_rare() {
        // Values from 50-digit arithmetic (mpmath) on the docs/oracles.md recursion;
        // 1 - 1/(π_0 + ρ) taken literally keeps only about six significant digits.
        assert_rel(
            "ρ=0.3 K=12",
            md1k(0.3, 1.0, 12),
            4.923_390_890_960_026e-11,
            1e-11,
        );
        assert_rel(
            "ρ=0.05 K=6",
            md1k(0.05, 1.0, 6),
            4.103_274_489_705_365e-11,
            1e-11,
        );
        assert_rel("ρ=3 K=8", md1k(3.0, 1.0, 8), 0.666_666_666_908_204, 1e-12);
    }

    #[test]
    fn md1k_with_one_place_is_erlang_b_by_insensitivity() {
        for &rho in &[0.0, 0.3, 1.0, 4.0, 1000.0] {
            assert_rel(
                &format!("ρ={rho}"),
                md1k(rho, 1.0, 1),
                erlang_b(1, rho),
                1e-13,
            );
        }
    }

    #[test]
    fn md1k_tends_to_one_minus_inverse_rho_when_heavily_overloaded() {
        for &rho in &[50.0, 699.0, 701.0, 5000.0] {
            let p = md1k(rho, 1.0, 40);
            assert!(p.is_finite());
            assert_rel(&format!("ρ={rho}"), p, 1.0 - 1.0 / rho, 1e-12);
        }
        // Long queue, moderate overload: finite, and close to the same limit.
        let p = md1k(1.5, 1.0, 5000);
        assert_rel("ρ=1.5 K=5000", p, 1.0 - 1.0 / 1.5, 1e-9);
    }

    #[test]
    fn md1k_below_mm1k_for_same_load() {
        // Less variable service blocks less (same mean), for ρ below and above 1.
        for &rho in &[0.5, 0.9, 1.0, 1.3] {
            assert!(md1k(rho, 1.0, 10) < mm1k(rho, 10), "ρ={rho}");
        }
    }

    #[test]
    fn mm1k_equals_mmck_with_one_server() {
        let rhos = [
            0.0, 0.1, 0.5, 0.9, 0.999_999, 1.0, 1.000_001, 1.5, 3.0, 50.0,
        ];
        for &rho in &rhos {
            for &k in &[1, 2, 10, 100, 5000] {
                let closed = mm1k(rho, k);
                let chain = mmck(rho, 1.0, 1, k).refusal_probability;
                assert!(closed.is_finite() && (0.0..=1.0).contains(&closed));
                assert_close(
                    &format!("ρ={rho} K={k}"),
                    closed,
                    chain,
                    1e-12 * chain + 1e-300,
                );
            }
        }
    }

    #[test]
    fn mmck_with_no_queue_equals_erlang_b() {
        for &(c, a) in &[
            (1, 0.5),
            (5, 3.0),
            (10, 5.0),
            (100, 80.0),
            (1000, 950.0),
            (1000, 1500.0),
        ] {
            let r = mmck(a, 1.0, c, c);
            assert_rel(
                &format!("c={c} a={a}"),
                r.refusal_probability,
                erlang_b(c, a),
                1e-11,
            );
            assert_eq!(r.mean_in_queue, 0.0);
        }
    }

    #[test]
    fn mmck_with_huge_queue_matches_erlang_c_wait_probability_and_mean_wait() {
        let (lambda, mu, c) = (4.0, 1.0, 5);
        let r = mmck(lambda, mu, c, 5000);
        // Under PASTA, an arrival waits when it finds at least c in the system,
        // and with K this large nobody is refused: P(wait) = L_q (cμ - λ) / λ in
        // M/M/c, i.e. C = W_q (cμ - λ).
        let p_wait = r.mean_wait * (f64::from(c) * mu - lambda);
        assert_rel("P(wait)", p_wait, erlang_c(c, lambda / mu), 1e-12);
        // And directly: P(N >= c) from the unnormalised M/M/c/K terms.
        let a = lambda / mu;
        let (mut q, mut all, mut waiting) = (1.0f64, 1.0f64, 0.0f64);
        for n in 1..=5000u32 {
            q *= a / f64::from(n.min(c));
            all += q;
            if n >= c {
                waiting += q;
            }
        }
        assert_rel("P(N >= c)", waiting / all, erlang_c(c, a), 1e-12);
        assert_close("P(wait) table", p_wait, 0.5541126, 5e-8);
        assert_rel("W_q", r.mean_wait, erlang_c_mean_wait(c, lambda, mu), 1e-12);
        assert!(r.refusal_probability < 1e-300);
    }

    #[test]
    fn mmck_carried_load_equals_offered_load_times_acceptance() {
        for &(lambda, mu, c, k) in &[
            (8.0, 4.0, 5, 12),
            (18.0, 4.0, 5, 12),
            (0.9, 1.0, 1, 10),
            (1200.0, 1.0, 1000, 5000),
            (30.0, 0.5, 64, 192),
        ] {
            let r = mmck(lambda, mu, c, k);
            let accepted = 1.0 - r.refusal_probability;
            let case = format!("λ={lambda} μ={mu} c={c} K={k}");
            assert_rel(&case, r.mean_busy, lambda / mu * accepted, 1e-11);
            assert_rel(&case, r.throughput, lambda * accepted, 1e-11);
        }
    }

    #[test]
    fn mmck_satisfies_littles_law() {
        for &(lambda, mu, c, k) in &[(8.0, 4.0, 5, 12), (18.0, 4.0, 5, 12), (3.0, 1.0, 2, 40)] {
            let r = mmck(lambda, mu, c, k);
            let case = format!("λ={lambda} μ={mu} c={c} K={k}");
            assert_rel(
                &case,
                r.mean_in_system,
                r.throughput * r.mean_time_in_system,
                1e-14,
            );
            assert_rel(&case, r.mean_in_queue, r.throughput * r.mean_wait, 1e-14);
            // Time in system is the wait plus one mean service time,
            // and the number in system is the queue plus the busy processes.
            assert_rel(&case, r.mean_time_in_system, r.mean_wait + 1.0 / mu, 1e-12);
            assert_rel(
                &case,
                r.mean_in_system,
                r.mean_in_queue + r.mean_busy,
                1e-12,
            );
        }
    }

    #[test]
    fn mmck_stays_finite_for_a_thousand_processes_and_five_thousand_places() {
        for &a in &[1.0, 500.0, 999.5, 1000.0, 1200.0, 1e6] {
            let r = mmck(a, 1.0, 1000, 5000);
            for v in [
                r.refusal_probability,
                r.mean_in_system,
                r.mean_busy,
                r.mean_wait,
            ] {
                assert!(v.is_finite() && v >= 0.0, "a={a}: {r:?}");
            }
            assert!(r.refusal_probability <= 1.0);
        }
        // Overloaded with a long queue, the pool is saturated: p_K = 1 - c/a.
        let r = mmck(1200.0, 1.0, 1000, 5000);
        assert_rel(
            "saturated",
            r.refusal_probability,
            1.0 - 1000.0 / 1200.0,
            1e-12,
        );
    }

    #[test]
    fn mmck_with_no_arrivals_is_empty() {
        let r = mmck(0.0, 2.0, 3, 10);
        assert_eq!(r.refusal_probability, 0.0);
        assert_eq!(r.mean_in_system, 0.0);
        assert_eq!(r.mean_time_in_system, 0.5);
        assert_eq!(r.mean_wait, 0.0);
    }

    #[test]
    fn mmck_min_servers_agrees_with_brute_force() {
        for &(lambda, mu, b, target) in &[
            (18.0, 4.0, 7, 0.01),
            (100.0, 1.0, 0, 1e-3),
            (100.0, 1.0, 128, 1e-6),
            (0.5, 1.0, 3, 0.05),
            (50.0, 2.0, 16, 0.2),
        ] {
            let brute = (1..=400u32).find(|&c| {
                let mut q = vec![1.0f64];
                for n in 1..=c + b {
                    let prev = *q.last().unwrap();
                    q.push(prev * lambda / mu / f64::from(n.min(c)));
                }
                q.last().unwrap() / q.iter().sum::<f64>() <= target
            });
            let got = mmck_min_servers(lambda, mu, b, target, 400);
            assert_eq!(got, brute, "λ={lambda} μ={mu} b={b} target={target}");
            assert!(got.is_some());
        }
        assert_eq!(mmck_min_servers(100.0, 1.0, 0, 1e-9, 10), None);
    }

    #[test]
    fn mmck_max_rate_round_trips() {
        for &(mu, c, k, target) in &[
            (4.0, 5, 12, 0.054289),
            (1.0, 1, 10, 0.01),
            (1.0, 64, 128, 1e-4),
            (10.0, 1000, 5000, 0.5),
            (1.0, 3, 3, 1e-12),
        ] {
            let lambda = mmck_max_rate(mu, c, k, target);
            let case = format!("μ={mu} c={c} K={k} target={target}");
            assert!(lambda > 0.0 && lambda.is_finite(), "{case}");
            assert!(
                mmck(lambda, mu, c, k).refusal_probability <= target,
                "{case}"
            );
            assert!(
                mmck(lambda * (1.0 + 1e-8), mu, c, k).refusal_probability > target,
                "{case}"
            );
        }
        // The oracle row read backwards: 0.054289 is reached at λ = 18.
        assert_rel(
            "λ for M/M/5/12",
            mmck_max_rate(4.0, 5, 12, 0.054289),
            18.0,
            1e-4,
        );
        assert_eq!(mmck_max_rate(1.0, 2, 4, 1.0), f64::INFINITY);
        assert_eq!(mmck_max_rate(1.0, 2, 4, 0.0), 0.0);
    }
}
