//! The lines of the source documents that records come from, read on
//! demand: lists and trees read records without them (`Stored::readable`).

use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::Searchable;
use crate::{BoxFuture, ForTable, Result, with_table};
use kpss_domain::EntityKind;
use std::collections::HashMap;

/// The source lines of the readable records of `kind` among `ids`.
pub async fn texts(s: &Scoped, kind: EntityKind, ids: &[i64]) -> Result<HashMap<i64, String>> {
    struct Texts<'a>(&'a Scoped, &'a [i64]);
    impl<'a> ForTable for Texts<'a> {
        type Out = BoxFuture<'a, Result<HashMap<i64, String>>>;
        fn table<E: Searchable + Stored>(self) -> Self::Out {
            Box::pin(read::source_texts::<E>(self.0, self.1))
        }
    }
    with_table(kind, Texts(s, ids)).await
}
