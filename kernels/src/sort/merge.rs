//! The k-way merge (a loser tree, with a two-way fast path) and the splitter search that cuts
//! a merge into disjoint output ranges, one per chunk, so that threads merge independently.
//!
//! Both use the same total order: records compared as [`Record::canon`] makes them, ties
//! broken by run number (runs are consecutive input ranges, so this keeps a stable order).

use outcore_engine::prefetch_read;

use super::record::{Canon, Record};

/// How far ahead in a run the merge asks for the next cache lines (records).
const PREFETCH_AHEAD: usize = 32;

/// A loser-tree entry: a run's current head (canonical) and the run's number. Exhausted runs
/// hold `Node::done()`: the all-ones key with the largest run number, which every real record
/// beats (a real record with the all-ones key still has a smaller run number), so the tree
/// needs no liveness checks.
#[derive(Clone, Copy)]
struct Node<R> {
    key: R,
    run: usize,
}

impl<R: Record> Node<R> {
    fn done() -> Node<R> {
        let mut key = R::zeroed();
        bytemuck::bytes_of_mut(&mut key).fill(0xFF);
        Node {
            key,
            run: usize::MAX,
        }
    }

    /// `self` comes out of the merge before `other`.
    #[inline(always)]
    fn before(&self, other: &Node<R>) -> bool {
        (self.key, self.run) < (other.key, other.run)
    }
}

/// Merges sorted runs into output blocks, resumably.
pub struct Merger<'a, R: Record> {
    runs: Vec<&'a [R]>,
    pos: Vec<usize>,
    canon: Canon,
    /// Loser tree over `leaves` (a power of two): `tree[node]` is the loser at each inner node
    /// (`1..leaves`); the winner is kept apart in `winner`. The nodes carry their keys, so a
    /// replay touches only this small array (no indirection through the runs).
    tree: Vec<Node<R>>,
    winner: Node<R>,
    leaves: usize,
}

impl<'a, R: Record> Merger<'a, R> {
    /// A merger of sorted `runs` (each ascending in key order), `canon` telling which keys compare equal.
    pub fn new(runs: Vec<&'a [R]>, canon: Canon) -> Merger<'a, R> {
        let k = runs.len();
        let leaves = k.next_power_of_two().max(2);
        let mut m = Merger {
            pos: vec![0; k],
            tree: vec![Node::done(); leaves],
            winner: Node::done(),
            leaves,
            runs,
            canon,
        };
        if k > 2 {
            // Build bottom-up: winners of each subtree, losers stored at inner nodes.
            // `win[leaves + i]` is leaf `i`; `win[node]` the winner below an inner node.
            let mut win = vec![Node::done(); leaves];
            win.extend((0..leaves).map(|i| m.head(i)));
            for node in (1..leaves).rev() {
                let (a, b) = (win[2 * node], win[2 * node + 1]);
                if a.before(&b) {
                    win[node] = a;
                    m.tree[node] = b;
                } else {
                    win[node] = b;
                    m.tree[node] = a;
                }
            }
            m.winner = win[1];
        }
        m
    }

    /// The node of leaf `i`: its run's next record, canonical, or `DONE`.
    #[inline(always)]
    fn head(&self, i: usize) -> Node<R> {
        match self.runs.get(i).and_then(|r| r.get(self.pos[i])) {
            Some(r) => Node {
                key: r.canon(&self.canon),
                run: i,
            },
            None => Node::done(),
        }
    }

    /// Fills `out` with the next records; returns how many (fewer only when all runs are done).
    pub fn fill(&mut self, out: &mut [R]) -> usize {
        match self.runs.len() {
            0 => 0,
            1 => {
                let src = &self.runs[0][self.pos[0]..];
                let n = src.len().min(out.len());
                out[..n].copy_from_slice(&src[..n]);
                self.pos[0] += n;
                n
            }
            2 => self.fill_two(out),
            _ => self.fill_tree(out),
        }
    }

    fn fill_two(&mut self, out: &mut [R]) -> usize {
        let (a, b) = (self.runs[0], self.runs[1]);
        let (mut i, mut j) = (self.pos[0], self.pos[1]);
        let c = self.canon;
        let mut n = 0;
        while n < out.len() && i < a.len() && j < b.len() {
            // Ties go to the first run.
            if b[j].canon(&c) < a[i].canon(&c) {
                out[n] = b[j];
                j += 1;
            } else {
                out[n] = a[i];
                i += 1;
            }
            n += 1;
        }
        let rest = out.len() - n;
        if i < a.len() && j == b.len() {
            let take = rest.min(a.len() - i);
            out[n..n + take].copy_from_slice(&a[i..i + take]);
            i += take;
            n += take;
        } else if j < b.len() && i == a.len() {
            let take = rest.min(b.len() - j);
            out[n..n + take].copy_from_slice(&b[j..j + take]);
            j += take;
            n += take;
        }
        self.pos[0] = i;
        self.pos[1] = j;
        n
    }

    fn fill_tree(&mut self, out: &mut [R]) -> usize {
        let mut n = 0;
        let mut cur = self.winner;
        while n < out.len() && cur.run != usize::MAX {
            let w = cur.run;
            let p = self.pos[w];
            let run = self.runs[w];
            out[n] = run[p];
            n += 1;
            self.pos[w] = p + 1;
            // The runs are long streams in DRAM, read a record at a time in an order the
            // hardware prefetcher cannot follow across `k` streams and page boundaries: ask
            // for the line a few records ahead (a hint; it never faults).
            prefetch_read(run.as_ptr().wrapping_add(p + PREFETCH_AHEAD));
            cur = match run.get(p + 1) {
                Some(r) => Node {
                    key: r.canon(&self.canon),
                    run: w,
                },
                None => Node::done(),
            };
            // Replay the path from leaf `w` to the root: at each node the loser stays, the
            // winner goes on up.
            let mut node = (w + self.leaves) / 2;
            while node >= 1 {
                // Written as a select (not a branch): which side wins is a coin toss.
                let other = self.tree[node];
                let pair = [cur, other];
                let swap = other.before(&cur) as usize;
                self.tree[node] = pair[1 - swap];
                cur = pair[swap];
                node /= 2;
            }
        }
        self.winner = cur;
        n
    }
}

/// Where to cut each run so that the cut-off prefixes hold exactly the `rank` first records of
/// the merge. Exact, also with many equal keys (ties go to the earlier run).
///
/// Keeps for every run a window `[lo, hi]` known to contain its cut; probes the middle of the
/// widest window, locates the probe in every other run by binary search inside that run's
/// window, and narrows all windows by the probe's rank.
pub fn split_points<R: Record>(runs: &[&[R]], rank: usize, c: &Canon) -> Vec<usize> {
    let lo = vec![0usize; runs.len()];
    let hi: Vec<usize> = runs.iter().map(|r| r.len()).collect();
    split_within(runs, rank, c, lo, hi)
}

/// [`split_points`] with every run's cut known to lie in `lo[s]..=hi[s]`.
fn split_within<R: Record>(
    runs: &[&[R]],
    rank: usize,
    c: &Canon,
    mut lo: Vec<usize>,
    mut hi: Vec<usize>,
) -> Vec<usize> {
    let k = runs.len();
    let mut pos = vec![0usize; k];
    loop {
        let Some(r) = (0..k)
            .filter(|&s| hi[s] > lo[s])
            .max_by_key(|&s| hi[s] - lo[s])
        else {
            return lo;
        };
        let m = lo[r] + (hi[r] - lo[r]) / 2;
        let probe = runs[r][m].canon(c);
        let mut total = 0usize;
        for s in 0..k {
            pos[s] = if s == r {
                m
            } else {
                let window = &runs[s][lo[s]..hi[s]];
                // Records of earlier runs that equal the probe come before it, of later runs after.
                lo[s]
                    + if s < r {
                        window.partition_point(|x| x.canon(c) <= probe)
                    } else {
                        window.partition_point(|x| x.canon(c) < probe)
                    }
            };
            total += pos[s];
        }
        match total.cmp(&rank) {
            std::cmp::Ordering::Equal => return pos,
            std::cmp::Ordering::Less => {
                lo.copy_from_slice(&pos);
                lo[r] = m + 1;
            }
            std::cmp::Ordering::Greater => hi.copy_from_slice(&pos),
        }
    }
}

/// In-memory samples of runs that live in a file: `per_run[s][j]` is record `j * every` of
/// run `s`, and `merged` lists every sample as `(canonical record, run, j)` in merge order.
pub struct Samples<'a, R> {
    pub every: usize,
    pub per_run: Vec<&'a [R]>,
    pub merged: Vec<(R, usize, usize)>,
}

impl<'a, R: Record> Samples<'a, R> {
    pub fn new(every: usize, per_run: Vec<&'a [R]>, c: &Canon) -> Samples<'a, R> {
        let mut merged: Vec<(R, usize, usize)> = per_run
            .iter()
            .enumerate()
            .flat_map(|(s, v)| v.iter().enumerate().map(move |(j, r)| (r.canon(c), s, j)))
            .collect();
        merged.sort_unstable();
        Samples {
            every: every.max(1),
            per_run,
            merged,
        }
    }

    /// Bounds of how many records of each run precede sample `e` of the merge (exact for its
    /// own run), from the samples alone.
    fn bounds(&self, runs: &[&[R]], e: &(R, usize, usize), c: &Canon) -> (Vec<usize>, Vec<usize>) {
        let (x, r, j) = (e.0, e.1, e.2);
        let g = self.every;
        let mut lower = vec![0; runs.len()];
        let mut upper = vec![0; runs.len()];
        for s in 0..runs.len() {
            if s == r {
                lower[s] = j * g;
                upper[s] = j * g;
                continue;
            }
            let a = self.per_run[s].partition_point(|y| {
                let y = y.canon(c);
                y < x || (y == x && s < r)
            });
            // Sample a-1 (record (a-1)·g) precedes e, sample a (record a·g) does not.
            lower[s] = if a == 0 { 0 } else { (a - 1) * g + 1 };
            upper[s] = (a * g).min(runs[s].len());
        }
        (lower, upper)
    }
}

/// [`split_points`] for runs read through a mapping: the samples narrow every run's window to
/// a few sampling intervals first (without touching the runs), so the exact search reads only
/// a few pages of each run instead of a binary search's worth.
pub fn split_points_sampled<R: Record>(
    runs: &[&[R]],
    samples: &Samples<'_, R>,
    rank: usize,
    c: &Canon,
) -> Vec<usize> {
    let k = runs.len();
    let mut lo = vec![0usize; k];
    let mut hi: Vec<usize> = runs.iter().map(|r| r.len()).collect();
    let m = &samples.merged;
    // The last sample certainly before the cut, the first certainly after it.
    let before = m.partition_point(|e| samples.bounds(runs, e, c).1.iter().sum::<usize>() < rank);
    if before > 0 {
        let e = &m[before - 1];
        let (lower, _) = samples.bounds(runs, e, c);
        lo = lower;
        lo[e.1] = e.2 * samples.every + 1;
    }
    let after = m.partition_point(|e| samples.bounds(runs, e, c).0.iter().sum::<usize>() < rank);
    if after < m.len() {
        let e = &m[after];
        let (_, upper) = samples.bounds(runs, e, c);
        hi = upper;
        hi[e.1] = e.2 * samples.every;
    }
    for s in 0..k {
        hi[s] = hi[s].max(lo[s]);
    }
    split_within(runs, rank, c, lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(runs: &[Vec<u16>]) -> Vec<(u16, usize)> {
        let mut all: Vec<(u16, usize)> = runs
            .iter()
            .enumerate()
            .flat_map(|(r, v)| v.iter().map(move |&x| (x, r)))
            .collect();
        all.sort(); // by key, then run: the stable merge order
        all
    }

    proptest! {
        #[test]
        fn merge_and_splits_agree_with_a_stable_sort(
            mut runs in prop::collection::vec(prop::collection::vec(0u16..20, 0..60), 0..9),
            block in 1usize..17,
        ) {
            for r in runs.iter_mut() {
                r.sort();
            }
            let slices: Vec<&[u16]> = runs.iter().map(|r| r.as_slice()).collect();
            let expect = reference(&runs);
            let c = Canon::default();
            let mut m = Merger::new(slices.clone(), c);
            let mut got = Vec::new();
            let mut buf = vec![0u16; block];
            loop {
                let n = m.fill(&mut buf);
                got.extend_from_slice(&buf[..n]);
                if n < block {
                    break;
                }
            }
            prop_assert_eq!(got, expect.iter().map(|p| p.0).collect::<Vec<_>>());
            let every = block;
            let sampled: Vec<Vec<u16>> = runs.iter().map(|r| r.iter().step_by(every).copied().collect()).collect();
            let samples = Samples::new(every, sampled.iter().map(|v| v.as_slice()).collect(), &c);
            for rank in 0..=expect.len() {
                let cut = split_points(&slices, rank, &c);
                prop_assert_eq!(&split_points_sampled(&slices, &samples, rank, &c), &cut);
                prop_assert_eq!(cut.iter().sum::<usize>(), rank);
                for (r, &p) in cut.iter().enumerate() {
                    let taken = expect[..rank].iter().filter(|e| e.1 == r).count();
                    prop_assert_eq!(p, taken, "run {} at rank {}", r, rank);
                }
            }
        }
    }

    #[test]
    fn canonical_ties_are_merged_stably() {
        // Keys 10 and 11 are "equal" (like -0.0 and +0.0); run 0 holds 11, run 1 holds 10.
        let c = Canon {
            active: true,
            zero_from: 10,
            zero_to: 11,
            nan_above: 200,
            nan_key: 255,
        };
        let a = [5u8, 11, 250];
        let b = [10u8, 201, 202];
        for runs in [vec![&a[..], &b[..]], vec![&a[..], &b[..], &[][..]]] {
            let mut m = Merger::new(runs.clone(), c);
            let mut out = [0u8; 6];
            assert_eq!(m.fill(&mut out), 6);
            assert_eq!(out, [5, 11, 10, 250, 201, 202]);
            assert_eq!(split_points(&runs, 2, &c)[..2], [2, 0]);
            assert_eq!(split_points(&runs, 4, &c)[..2], [3, 1]);
        }
    }
}
