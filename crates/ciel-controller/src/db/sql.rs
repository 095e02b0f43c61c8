//! One set of queries for both engines. Queries are written once, with SQLite's `?`
//! placeholders (numbered `$1`, `$2`… for PostgreSQL when they run there) in SQL both
//! engines read, and run on SQLite or PostgreSQL through sqlx's native drivers, chosen at
//! run time by the pool. The builders mirror sqlx's (`query`, `query_as`, `query_scalar`,
//! `bind`, `fetch_*`, `execute`) so the query modules read as plain sqlx; a value bound or a
//! row read must encode and decode on both engines, which the compiler checks.
//!
//! sqlx's own `Any` driver was not used: it cannot read SQLite's booleans, and its rows lose
//! the native decoders the row structs rely on.

use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Arguments, Decode, Encode, Error, FromRow, Type};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::marker::PhantomData;

type BoxDynError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The datastore's connection pool, on either engine.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// The SQLite file's pool, and the turn its writers take in this process.
///
/// SQLite has one writer at a time, and a writer that finds the file locked sleeps and tries
/// again (its busy handler: 1 ms, then longer, up to 100 ms a time) while holding a pooled
/// connection. Many writers at once then starve some of them past the busy timeout ("database
/// is locked": a 500 to the client, seen with 8 bulk port creations in flight) and take the
/// pool's connections from readers. Writers here wait for their turn instead, in order, on an
/// async lock taken before a connection: write transactions (`db::begin_notifying`) and
/// statements run on the pool outside a transaction (`execute`).
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub pool: SqlitePool,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A writer's turn on the SQLite file, held until its transaction ends.
pub type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// Longest a writer waits for its turn (the busy timeout it replaces was 10 s).
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl SqliteDb {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteDb {
            pool,
            writer: Default::default(),
        }
    }

    /// Waits for this writer's turn (first come, first served).
    pub async fn writer_turn(&self) -> Result<WriterTurn, Error> {
        tokio::time::timeout(WRITER_WAIT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| Error::PoolTimedOut)
    }
}

impl Pool {
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.pool.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// An open transaction (or savepoint) on either engine.
pub enum Conn<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

impl Conn<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// A savepoint inside this transaction.
    pub async fn begin(&mut self) -> Result<Conn<'_>, Error> {
        Ok(match self {
            Conn::Sqlite(t) => Conn::Sqlite(sqlx::Acquire::begin(&mut **t).await?),
            Conn::Postgres(t) => Conn::Postgres(sqlx::Acquire::begin(&mut **t).await?),
        })
    }

    pub async fn commit(self) -> Result<(), Error> {
        match self {
            Conn::Sqlite(t) => t.commit().await,
            Conn::Postgres(t) => t.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), Error> {
        match self {
            Conn::Sqlite(t) => t.rollback().await,
            Conn::Postgres(t) => t.rollback().await,
        }
    }
}

/// Where a query runs: a pool or a transaction's connection.
pub enum Target<'e> {
    SqlitePool(&'e SqliteDb),
    PgPool(&'e PgPool),
    Sqlite(&'e mut SqliteConnection),
    Postgres(&'e mut PgConnection),
}

impl Target<'_> {
    /// The same target for one more statement (a pool is shared; a connection reborrowed).
    fn reborrow(&mut self) -> Target<'_> {
        match self {
            Target::SqlitePool(p) => Target::SqlitePool(p),
            Target::PgPool(p) => Target::PgPool(p),
            Target::Sqlite(c) => Target::Sqlite(c),
            Target::Postgres(c) => Target::Postgres(c),
        }
    }
}

/// What a query can run on (sqlx's `Executor`, for both engines).
pub trait Executor<'e>: Send {
    fn target(self) -> Target<'e>;
}

impl<'e> Executor<'e> for Target<'e> {
    fn target(self) -> Target<'e> {
        self
    }
}

impl<'e> Executor<'e> for &'e Pool {
    fn target(self) -> Target<'e> {
        match self {
            Pool::Sqlite(p) => Target::SqlitePool(p),
            Pool::Postgres(p) => Target::PgPool(p),
        }
    }
}

impl<'e, 'c: 'e> Executor<'e> for &'e mut Conn<'c> {
    fn target(self) -> Target<'e> {
        match self {
            Conn::Sqlite(t) => Target::Sqlite(t),
            Conn::Postgres(t) => Target::Postgres(t),
        }
    }
}

/// A value that binds on both engines.
pub trait Arg<'q>: Send {
    fn add_sqlite(self: Box<Self>, args: &mut SqliteArguments<'q>) -> Result<(), BoxDynError>;
    fn add_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<'q, T> Arg<'q> for T
where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>,
{
    fn add_sqlite(self: Box<Self>, args: &mut SqliteArguments<'q>) -> Result<(), BoxDynError> {
        args.add(*self)
    }
    fn add_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(*self)
    }
}

/// A row type both engines can build.
pub trait Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {}
impl<T> Row for T where T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {}

/// A single column value both engines can decode.
pub trait Scalar:
    Send + Unpin + Type<Sqlite> + for<'r> Decode<'r, Sqlite> + Type<Postgres> + for<'r> Decode<'r, Postgres>
{
}
impl<T> Scalar for T where
    T: Send + Unpin + Type<Sqlite> + for<'r> Decode<'r, Sqlite> + Type<Postgres> + for<'r> Decode<'r, Postgres>
{
}

/// What a write did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// `(?, ?, …)` for `n` values to bind, for `x IN …`; `(NULL)` for none, which matches nothing.
pub fn in_list(n: usize) -> String {
    if n == 0 {
        return "(NULL)".into();
    }
    let mut s = String::with_capacity(2 + 3 * n);
    s.push('(');
    for i in 0..n {
        s.push_str(if i == 0 { "?" } else { ", ?" });
    }
    s.push(')');
    s
}

/// Ids bound per statement by `rows_in`: well under the engines' limits on bound values
/// (32,766 for SQLite, 65,535 for PostgreSQL).
const IDS_PER_STATEMENT: usize = 4096;

/// The rows of `sql_text` with its `IN (LIST)` standing for `ids`, one placeholder each
/// (the batch reads of a page's or a host's related rows). More ids than one statement
/// may bind are read in batches: each id's rows keep their order, which is what callers
/// group by; the order across batches is the ids', and rows a query adds besides the list's
/// (an `OR`) come once per batch.
pub async fn rows_in<O: Row>(e: impl Executor<'_>, sql_text: &str, ids: &[String]) -> crate::error::Result<Vec<O>> {
    let mut target = e.target();
    let mut out = vec![];
    for chunk in ids.chunks(IDS_PER_STATEMENT.max(1)) {
        let text = sql_text.replace("(LIST)", &in_list(chunk.len()));
        let mut q = query_as(&text);
        for v in chunk {
            q = q.bind(v.as_str());
        }
        out.extend(q.fetch_all(target.reborrow()).await?);
    }
    if ids.is_empty() {
        // `IN (NULL)`: no rows, but the statement still runs, as it always has.
        let text = sql_text.replace("(LIST)", &in_list(0));
        out = query_as(&text).fetch_all(target).await?;
    }
    Ok(out)
}

/// A statement and its bound values.
pub struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Box<dyn Arg<'q> + 'q>>,
}

pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql: Cow::Borrowed(sql),
        args: Vec::new(),
    }
}

pub fn query_as<O>(sql: &str) -> QueryAs<'_, O> {
    QueryAs {
        q: query(sql),
        _row: PhantomData,
    }
}

pub fn query_scalar<O>(sql: &str) -> QueryScalar<'_, O> {
    QueryScalar {
        q: query(sql),
        _value: PhantomData,
    }
}

fn encode(e: BoxDynError) -> Error {
    Error::Encode(e)
}

impl<'q> Query<'q> {
    pub fn bind<T: Arg<'q> + 'q>(mut self, value: T) -> Self {
        self.args.push(Box::new(value));
        self
    }

    /// The same statement, read as one column.
    pub fn scalar<O>(self) -> QueryScalar<'q, O> {
        QueryScalar {
            q: self,
            _value: PhantomData,
        }
    }

    fn sqlite(self) -> Result<(Cow<'q, str>, SqliteArguments<'q>), Error> {
        let mut a = SqliteArguments::default();
        for v in self.args {
            v.add_sqlite(&mut a).map_err(encode)?;
        }
        Ok((self.sql, a))
    }

    fn postgres(self) -> Result<(Cow<'q, str>, PgArguments), Error> {
        let mut a = PgArguments::default();
        for v in self.args {
            v.add_postgres(&mut a).map_err(encode)?;
        }
        let sql = match numbered(&self.sql) {
            Cow::Borrowed(_) => self.sql,
            Cow::Owned(s) => Cow::Owned(s),
        };
        Ok((sql, a))
    }

    pub async fn execute<'e>(self, e: impl Executor<'e>) -> Result<Done, Error> {
        let rows = match e.target() {
            Target::SqlitePool(p) => {
                let (sql, a) = self.sqlite()?;
                let _turn = p.writer_turn().await?;
                sqlx::query_with(&sql, a).execute(&p.pool).await?.rows_affected()
            }
            Target::Sqlite(c) => {
                let (sql, a) = self.sqlite()?;
                sqlx::query_with(&sql, a).execute(c).await?.rows_affected()
            }
            Target::PgPool(p) => {
                let (sql, a) = self.postgres()?;
                sqlx::query_with(&sql, a).execute(p).await?.rows_affected()
            }
            Target::Postgres(c) => {
                let (sql, a) = self.postgres()?;
                sqlx::query_with(&sql, a).execute(c).await?.rows_affected()
            }
        };
        Ok(Done { rows })
    }
}

/// Runs `$call` (a method of sqlx's `QueryAs`/`QueryScalar`) on whichever engine `$e` is.
macro_rules! on_engine {
    ($q:expr, $e:expr, $with:ident, $call:ident) => {
        match $e.target() {
            Target::SqlitePool(p) => {
                let (sql, a) = $q.sqlite()?;
                sqlx::$with::<Sqlite, _, _>(&sql, a).$call(&p.pool).await
            }
            Target::Sqlite(c) => {
                let (sql, a) = $q.sqlite()?;
                sqlx::$with::<Sqlite, _, _>(&sql, a).$call(c).await
            }
            Target::PgPool(p) => {
                let (sql, a) = $q.postgres()?;
                sqlx::$with::<Postgres, _, _>(&sql, a).$call(p).await
            }
            Target::Postgres(c) => {
                let (sql, a) = $q.postgres()?;
                sqlx::$with::<Postgres, _, _>(&sql, a).$call(c).await
            }
        }
    };
}

/// A query whose rows become `O`.
pub struct QueryAs<'q, O> {
    q: Query<'q>,
    _row: PhantomData<fn() -> O>,
}

impl<'q, O: Row> QueryAs<'q, O> {
    pub fn bind<T: Arg<'q> + 'q>(mut self, value: T) -> Self {
        self.q = self.q.bind(value);
        self
    }
    pub async fn fetch_all<'e>(self, e: impl Executor<'e>) -> Result<Vec<O>, Error> {
        on_engine!(self.q, e, query_as_with, fetch_all)
    }
    pub async fn fetch_one<'e>(self, e: impl Executor<'e>) -> Result<O, Error> {
        on_engine!(self.q, e, query_as_with, fetch_one)
    }
    pub async fn fetch_optional<'e>(self, e: impl Executor<'e>) -> Result<Option<O>, Error> {
        on_engine!(self.q, e, query_as_with, fetch_optional)
    }
}

/// A query whose first column is the answer.
pub struct QueryScalar<'q, O> {
    q: Query<'q>,
    _value: PhantomData<fn() -> O>,
}

impl<'q, O: Scalar> QueryScalar<'q, O> {
    pub fn bind<T: Arg<'q> + 'q>(mut self, value: T) -> Self {
        self.q = self.q.bind(value);
        self
    }
    pub async fn fetch_all<'e>(self, e: impl Executor<'e>) -> Result<Vec<O>, Error> {
        on_engine!(self.q, e, query_scalar_with, fetch_all)
    }
    pub async fn fetch_one<'e>(self, e: impl Executor<'e>) -> Result<O, Error> {
        on_engine!(self.q, e, query_scalar_with, fetch_one)
    }
    pub async fn fetch_optional<'e>(self, e: impl Executor<'e>) -> Result<Option<O>, Error> {
        on_engine!(self.q, e, query_scalar_with, fetch_optional)
    }
}

/// A statement assembled piece by piece (dynamic filters), binding as it goes.
pub struct QueryBuilder<'q> {
    sql: String,
    args: Vec<Box<dyn Arg<'q> + 'q>>,
}

impl<'q> QueryBuilder<'q> {
    pub fn new(sql: impl Into<String>) -> Self {
        QueryBuilder {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn push_bind<T: Arg<'q> + 'q>(&mut self, value: T) -> &mut Self {
        self.args.push(Box::new(value));
        self.sql.push('?');
        self
    }

    /// Appends `(?, ?, …)` binding `values`, for `x IN …`; `(NULL)` for none, which matches
    /// nothing.
    pub fn push_list(&mut self, values: &[String]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(v.clone());
        }
        if values.is_empty() {
            self.push("NULL");
        }
        self.push(")")
    }

    pub fn build_query_as<O>(self) -> QueryAs<'q, O> {
        QueryAs {
            q: Query {
                sql: Cow::Owned(self.sql),
                args: self.args,
            },
            _row: PhantomData,
        }
    }
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`… as PostgreSQL wants them; a `?` in
/// quoted text or a quoted name stays.
fn numbered(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut n, mut quote) = (0, None);
    for c in sql.chars() {
        match (c, quote) {
            ('?', None) => {
                n += 1;
                let _ = write!(out, "${n}");
                continue;
            }
            ('\'' | '"', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{in_list, numbered};

    #[test]
    fn in_lists_have_one_placeholder_per_value_and_match_nothing_when_empty() {
        assert_eq!(in_list(0), "(NULL)");
        assert_eq!(in_list(1), "(?)");
        assert_eq!(in_list(3), "(?, ?, ?)");
    }

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c = '?' AND \"d?\" IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND \"d?\" IN ($2, $3)"
        );
        assert_eq!(numbered("x = 'it''s ?' OR y = ?"), "x = 'it''s ?' OR y = $1");
    }
}
