//! Lost races between transactions on PostgreSQL: a serialization failure (40001) or a
//! deadlock (40P01). The database rolled the transaction back, so the request that ran it
//! can run again unchanged; `http::retry` does that instead of answering 503. The error
//! conversion notes the race in the request's task, where the retry layer looks for it.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static LOST_RACE: Cell<bool>;
}

/// SQLSTATEs of a transaction the database aborted only because another one ran beside it.
pub const RACE_CODES: [&str; 2] = ["40001", "40P01"];

/// Runs `fut` and says whether a transaction in it lost a race.
pub async fn watch<F: Future>(fut: F) -> (F::Output, bool) {
    LOST_RACE
        .scope(Cell::new(false), async move {
            let out = fut.await;
            (out, LOST_RACE.with(Cell::get))
        })
        .await
}

/// Records a lost race for the enclosing `watch`, if any (background work has none).
pub fn note() {
    let _ = LOST_RACE.try_with(|c| c.set(true));
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_race_noted_inside_the_watch_is_seen() {
        let (_, lost) = super::watch(async { super::note() }).await;
        assert!(lost);
        let (_, lost) = super::watch(async {}).await;
        assert!(!lost);
        super::note(); // outside any watch: ignored, no panic
    }
}
