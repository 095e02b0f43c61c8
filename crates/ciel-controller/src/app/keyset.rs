//! One page of a listing read from an index in the listing's order, continuing after the
//! marker's key: chunk after chunk until one more row than the page passes the filters SQL
//! could not apply (that one tells whether a next page exists), or the rows end. A page then
//! costs about its own size, not the table's.

use std::future::Future;

/// Rows read after a key, and the key to continue after (`None`: the rows ended).
pub struct Chunk<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Chunk<T, K> {
    /// `rows` of a read of at most `asked` (see [`next_key`]).
    pub fn of(rows: Vec<T>, asked: usize, key: impl Fn(&T) -> K) -> Self {
        let next = next_key(&rows, asked, key);
        Chunk { items: rows, next }
    }
}

/// The key to continue after, given `rows` of a read of at most `asked`: the last row's, when
/// the read came back full (more may follow); `None` when the rows ended.
pub fn next_key<T, K>(rows: &[T], asked: usize, key: impl Fn(&T) -> K) -> Option<K> {
    if rows.len() >= asked {
        rows.last().map(key)
    } else {
        None
    }
}

/// The rows after `after` that `keep` accepts, read by `read(after, n)` a chunk at a time,
/// until more than `limit` are kept (the caller cuts the page and links the next one) or the
/// rows end. A chunk holds one more row than the page, and at least 100 so that selective
/// filters need few reads.
pub async fn fill<T, K, E, F, Fut>(
    limit: usize,
    mut after: Option<K>,
    mut read: F,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, E>
where
    F: FnMut(Option<K>, usize) -> Fut,
    Fut: Future<Output = Result<Chunk<T, K>, E>>,
{
    let n = (limit + 1).max(100);
    let mut kept = vec![];
    loop {
        let chunk = read(after.take(), n).await?;
        kept.extend(chunk.items.into_iter().filter(|t| keep(t)));
        after = chunk.next;
        if after.is_none() || kept.len() > limit {
            return Ok(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `0..total` after a key, as an index would.
    async fn read(
        total: u32,
        after: Option<u32>,
        n: usize,
        reads: &std::sync::atomic::AtomicUsize,
    ) -> Result<Chunk<u32, u32>, ()> {
        reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let start = after.map_or(0, |a| a + 1);
        let rows: Vec<u32> = (start..total).take(n).collect();
        Ok(Chunk::of(rows, n, |r| *r))
    }

    #[tokio::test]
    async fn reads_until_one_more_than_the_page_passes_or_the_rows_end() {
        let reads = std::sync::atomic::AtomicUsize::new(0);
        // Every row passes: one read of 101 for a page of 100.
        let got = fill(100, None, |a, n| read(1000, a, n, &reads), |_| true)
            .await
            .unwrap();
        assert_eq!(got, (0..101).collect::<Vec<_>>());
        assert_eq!(reads.swap(0, std::sync::atomic::Ordering::Relaxed), 1);
        // One row in ten passes: chunks of 100 until more than 10 passed (the whole second
        // chunk's are kept; the caller cuts the page).
        let got = fill(10, None, |a, n| read(1000, a, n, &reads), |r| r % 10 == 0)
            .await
            .unwrap();
        assert_eq!(got, (0..200).step_by(10).collect::<Vec<_>>());
        assert_eq!(reads.swap(0, std::sync::atomic::Ordering::Relaxed), 2);
        // After a key, to the end of the rows: what is left, without a next page.
        let got = fill(10, Some(994), |a, n| read(1000, a, n, &reads), |_| true)
            .await
            .unwrap();
        assert_eq!(got, vec![995, 996, 997, 998, 999]);
        // The page and the one row that says a next page exists.
        let got = fill(99, Some(899), |a, n| read(1000, a, n, &reads), |_| true)
            .await
            .unwrap();
        assert_eq!(got, (900..1000).collect::<Vec<_>>());
    }
}
