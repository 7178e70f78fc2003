//! Tables whose memory does not grow with the capture: a SYN flood or a
//! scan brings millions of distinct addresses and connections, so tables
//! keep the top entries and say when they stopped being exact.

/// Keeps the `k` best items offered, by a caller-given order (best first).
pub struct TopK<T> {
    items: Vec<T>,
    k: usize,
    better: fn(&T, &T) -> std::cmp::Ordering,
}

impl<T> TopK<T> {
    /// Keeps `k` items; `better(a, b)` is `Less` when `a` ranks before `b`.
    pub fn new(k: usize, better: fn(&T, &T) -> std::cmp::Ordering) -> Self {
        TopK { items: Vec::new(), k, better }
    }

    /// Offers one item.
    pub fn offer(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        self.items.push(item);
        if self.items.len() >= 2 * self.k.max(16) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.items.sort_by(self.better);
        self.items.truncate(self.k);
    }

    /// The best items, best first.
    pub fn into_sorted(mut self) -> Vec<T> {
        self.trim();
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_in_order() {
        let mut t = TopK::new(3, |a: &u32, b: &u32| b.cmp(a));
        // 7 generates every residue mod 101: 0..=100 arrive in scrambled order.
        for i in 0..101 {
            t.offer(i * 7 % 101);
        }
        assert_eq!(t.into_sorted(), vec![100, 99, 98]);
    }
}
