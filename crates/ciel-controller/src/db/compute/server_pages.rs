//! One page of a server listing, read in the listing's order (newest first) from an index
//! and continued after the last server seen (keyset paging), so a listing costs its page,
//! not the table: the filters SQL can answer are in the query, the rest (regular
//! expressions, API statuses) are applied by the caller to as many pages as it needs.

use super::servers::{Server, COLS};
use crate::db::sql;
use crate::error::Result;

/// Nova's tag filters of a server listing (2.26), each a list of tags.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    /// `tags`: servers with all of them.
    pub all: Option<Vec<String>>,
    /// `tags-any`: servers with at least one of them.
    pub any: Option<Vec<String>>,
    /// `not-tags`: servers without all of them (lacking at least one).
    pub not_all: Option<Vec<String>>,
    /// `not-tags-any`: servers with none of them.
    pub not_any: Option<Vec<String>>,
}

/// What SQL selects of a listing.
#[derive(Debug, Default)]
pub struct PageQuery<'a> {
    /// The project's servers only (`None`: every project's).
    pub project_id: Option<&'a str>,
    /// Servers on one of these hosts.
    pub host_ids: Option<&'a [String]>,
    pub flavor_id: Option<&'a str>,
    pub image_id: Option<&'a str>,
    /// Servers changed at or after this time.
    pub changes_since: Option<i64>,
    pub reservation_id: Option<&'a str>,
    pub tags: Option<&'a TagFilter>,
    /// The servers after this `(created_at, id)` in the listing's order.
    pub after: Option<(i64, &'a str)>,
    pub limit: i64,
}

/// The next `q.limit` servers of the listing, newest first (ties by id).
pub async fn page(e: impl sql::Executor<'_>, q: &PageQuery<'_>) -> Result<Vec<Server>> {
    let mut b = sql::QueryBuilder::new(format!("SELECT {COLS} FROM servers WHERE 1 = 1"));
    if let Some(p) = q.project_id {
        b.push(" AND project_id = ").push_bind(p.to_string());
    }
    if let Some(hosts) = q.host_ids {
        b.push(" AND host_id IN ").push_list(hosts);
    }
    if let Some(f) = q.flavor_id {
        b.push(" AND flavor_id = ").push_bind(f.to_string());
    }
    if let Some(i) = q.image_id {
        b.push(" AND image_id = ").push_bind(i.to_string());
    }
    if let Some(t) = q.changes_since {
        b.push(" AND updated_at >= ").push_bind(t);
    }
    if let Some(r) = q.reservation_id {
        b.push(" AND reservation_id = ").push_bind(r.to_string());
    }
    if let Some(tags) = q.tags {
        push_tags(&mut b, tags);
    }
    if let Some((at, id)) = q.after {
        b.push(" AND (created_at < ").push_bind(at);
        b.push(" OR (created_at = ").push_bind(at);
        b.push(" AND id > ").push_bind(id.to_string());
        b.push("))");
    }
    b.push(" ORDER BY created_at DESC, id LIMIT ").push_bind(q.limit);
    Ok(b.build_query_as().fetch_all(e).await?)
}

/// The tag filters, as counts of the wanted tags a server has (each tag is stored once per
/// server).
fn push_tags(b: &mut sql::QueryBuilder<'_>, f: &TagFilter) {
    let matching = |b: &mut sql::QueryBuilder<'_>, tags: &[String]| {
        b.push(" (SELECT count(*) FROM server_tags t WHERE t.server_id = servers.id AND t.tag IN ")
            .push_list(tags)
            .push(")");
    };
    let distinct = |tags: &Vec<String>| {
        let mut d = tags.clone();
        d.sort();
        d.dedup();
        d
    };
    if let Some(tags) = f.all.as_ref().map(distinct) {
        b.push(" AND");
        matching(b, &tags);
        b.push(" = ").push_bind(tags.len() as i64);
    }
    if let Some(tags) = f.any.as_ref().map(distinct) {
        b.push(" AND");
        matching(b, &tags);
        b.push(" > 0");
    }
    if let Some(tags) = f.not_all.as_ref().map(distinct) {
        b.push(" AND");
        matching(b, &tags);
        b.push(" < ").push_bind(tags.len() as i64);
    }
    if let Some(tags) = f.not_any.as_ref().map(distinct) {
        b.push(" AND");
        matching(b, &tags);
        b.push(" = 0");
    }
}
