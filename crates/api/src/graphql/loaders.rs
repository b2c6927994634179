//! DataLoaders: every relation a client can traverse is fetched for all
//! parents of a level in one statement, never once per parent. Each
//! aggregate module declares its keys with the macros below.

use kpss_persistence::Scoped;
use std::collections::HashMap;
use std::hash::Hash;

/// The loaders of one request, with the caller's scope.
pub struct Loaders {
    pub(super) scoped: Scoped,
}

/// Groups `items` under their key; every requested key gets a (maybe empty) list.
pub(super) fn grouped<K: Eq + Hash + Clone, V>(
    keys: &[K],
    items: impl IntoIterator<Item = V>,
    key_of: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for item in items {
        map.entry(key_of(&item)).or_default().push(item);
    }
    map
}

/// `Key(id)` -> the record with that id (absent when not readable).
macro_rules! by_id {
    ($key:ident, $object:ident, $fetch:path) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::Loaders {
            type Value = $object;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[$key],
            ) -> $crate::error::Result<std::collections::HashMap<$key, $object>> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.scoped, &ids)
                    .await
                    .map_err($crate::error::coded)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), $object(r))).collect())
            }
        }
    };
}

/// `Key(parent id)` -> the parent's children, in document order.
macro_rules! children {
    ($key:ident, $object:ident, $fetch:path, $parent:expr) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::Loaders {
            type Value = Vec<$object>;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[$key],
            ) -> $crate::error::Result<std::collections::HashMap<$key, Vec<$object>>> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.scoped, &ids)
                    .await
                    .map_err($crate::error::coded)?;
                Ok($crate::graphql::loaders::grouped(
                    keys,
                    rows.into_iter().map($object),
                    |o| $key($parent(&o.0)),
                ))
            }
        }
    };
}
