//! The split of the grouped form's flat value list among its filters (rule on the parent module).

use super::key::FilterKey;
use super::model::Op;
use super::value::typed;

/// How many of the grouped `values`, in order, each filter takes (the rule on the parent
/// module). Needs `heads.len() == 1` or `values.len() >= heads.len() > 1`.
pub(super) fn split_grouped(heads: &[(FilterKey, Op)], values: &[Option<String>]) -> Vec<usize> {
    let (n, m) = (heads.len(), values.len());
    if n == 1 {
        return vec![m];
    }
    // run_end[i][j]: the first index >= j whose value does not fit filter i (m if none).
    let run_end: Vec<Vec<usize>> = heads
        .iter()
        .map(|&(key, op)| {
            let mut ends = vec![m; m + 1];
            for j in (0..m).rev() {
                ends[j] = if typed(key, op, values[j].as_deref()).is_ok() { ends[j + 1] } else { j };
            }
            ends
        })
        .collect();
    // feasible[i][j]: filters i.. can take exactly values j.., each a non-empty fitting run.
    let mut feasible = vec![vec![false; m + 1]; n + 1];
    feasible[n][m] = true;
    for i in (0..n).rev() {
        // below[k]: how many of feasible[i + 1][..k] are true.
        let mut below = vec![0usize; m + 2];
        for k in 0..=m {
            below[k + 1] = below[k] + usize::from(feasible[i + 1][k]);
        }
        for j in 0..m {
            let end = run_end[i][j];
            feasible[i][j] = end > j && below[end + 1] > below[j + 1];
        }
    }
    let mut lens = Vec::with_capacity(n);
    let mut j = 0;
    if feasible[0][0] {
        for i in 0..n {
            let end = (j + 1..=run_end[i][j]).rev().find(|&k| feasible[i + 1][k]).unwrap_or(m);
            lens.push(end - j);
            j = end;
        }
    } else {
        // No cut fits: each filter takes its first value, then fitting values it can spare.
        for (i, ends) in run_end.iter().enumerate().take(n - 1) {
            let mut k = j + 1;
            while k < m - (n - 1 - i) && ends[k] > k {
                k += 1;
            }
            lens.push(k - j);
            j = k;
        }
        lens.push(m - j);
    }
    lens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(heads: &[(FilterKey, Op)], values: &[&str]) -> Vec<usize> {
        let values: Vec<Option<String>> = values.iter().map(|v| Some(v.to_string())).collect();
        split_grouped(heads, &values)
    }

    const MODEL: (FilterKey, Op) = (FilterKey::Model, Op::Eq);
    const SUCCESS: (FilterKey, Op) = (FilterKey::Success, Op::Eq);
    const COST: (FilterKey, Op) = (FilterKey::Cost, Op::Gt);

    #[test]
    fn one_filter_takes_all_and_equal_counts_pair_up() {
        assert_eq!(lens(&[MODEL], &["a", "b", "c"]), [3]);
        assert_eq!(lens(&[SUCCESS], &["x"]), [1]);
        assert_eq!(lens(&[MODEL, SUCCESS, COST], &["a", "true", "1"]), [1, 1, 1]);
    }

    #[test]
    fn earliest_filter_takes_the_longest_run_that_leaves_a_fitting_rest() {
        let example = ["gpt-4", "gpt-4o", "true", "0.5"];
        assert_eq!(lens(&[MODEL, SUCCESS, COST], &example), [2, 1, 1]);
        assert_eq!(lens(&[MODEL, MODEL], &["a", "b", "c"]), [2, 1]);
        // Bool then number: "1" fits both; the bool filter keeps it, "2" goes to cost.
        assert_eq!(lens(&[SUCCESS, COST], &["true", "1", "2"]), [2, 1]);
        // The longest feasible run, not the first stop of a walk: after "a, 1" the rest
        // "b, 2, c" cannot start `cost`, but after "a, 1, b" the rest "2, c" can.
        let (model, cost) = (MODEL, (FilterKey::Cost, Op::Eq));
        assert_eq!(lens(&[model, cost, model], &["a", "1", "b", "2", "c"]), [3, 1, 1]);
    }

    #[test]
    fn without_a_fitting_cut_each_filter_takes_what_fits_and_can_be_spared() {
        // "maybe" fits no bool; `model` takes gpt-4 and gpt-4o, `success` is left "maybe".
        assert_eq!(lens(&[MODEL, SUCCESS, COST], &["gpt-4", "gpt-4o", "maybe", "0.5"]), [2, 1, 1]);
        // Every filter still gets at least one value.
        assert_eq!(lens(&[COST, COST, COST], &["a", "b", "c", "d"]), [1, 1, 2]);
    }
}
