//! Pages of a list: opaque cursors, `first` within the limit, and the
//! `XConnection { nodes, pageInfo, totalCount }` objects.

use super::common::bad;
use crate::Limits;
use crate::error::Result;
use crate::limits::DEFAULT_PAGE_SIZE;
use async_graphql::{Context, SimpleObject};
use kpss_persistence::page::{Connection, Page};

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// `XConnection { nodes, pageInfo, totalCount }` for each listed type.
macro_rules! connection {
    ($name:ident, $node:ident) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            pub nodes: $crate::graphql::records::Records<$node>,
            pub page_info: $crate::graphql::page::PageInfo,
            pub total_count: i32,
        }
    };
}

/// Cursors are opaque to clients: the connection's name and the last id, hex-encoded.
pub(super) fn cursor(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn page(
    ctx: &Context<'_>,
    kind: &str,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Page> {
    let max = ctx.data_unchecked::<Limits>().max_page_size;
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if first < 0 || first as usize > max {
        return Err(bad("first", format!("first must be between 0 and {max}")));
    }
    let after = match after {
        None => None,
        Some(c) => {
            let decoded = (0..c.len())
                .step_by(2)
                .map(|i| c.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<Vec<u8>>>()
                .and_then(|b| String::from_utf8(b).ok());
            let id = decoded
                .as_deref()
                .and_then(|d| d.strip_prefix(kind))
                .and_then(|d| d.strip_prefix(':'))
                .and_then(|d| d.parse().ok());
            Some(id.ok_or_else(|| bad("after", "not a cursor of this list"))?)
        }
    };
    Ok(Page {
        first: first as u64,
        after,
        count: ctx.look_ahead().field("totalCount").exists(),
    })
}

pub(super) fn page_info<T>(kind: &str, c: &Connection<T>, id_of: impl Fn(&T) -> i64) -> PageInfo {
    PageInfo {
        has_next_page: c.has_next_page,
        end_cursor: c.nodes.last().map(|n| cursor(kind, id_of(n))),
    }
}

pub(super) fn total(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
