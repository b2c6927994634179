//! Batching by execution step: every relation a client can traverse is
//! fetched for all parents of a level in one statement, never once per
//! parent, and no timer decides how keys are grouped. A resolver's
//! `load_one` only queues its key; the request's future is wrapped in
//! [`Steps`], which runs the queued batches when execution can go no
//! further without them (the future is pending and did not wake itself),
//! and runs the next wave only once the whole previous one has answered. So
//! a query costs the same statements however busy the machine is. Each
//! aggregate module declares its keys with the macros below.

use async_graphql::dataloader::Loader;
use futures_util::future::{JoinAll, join_all};
use kpss_persistence::Scoped;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The batch functions of one request, with the caller's scope.
pub struct Loaders {
    pub(super) scoped: Scoped,
}

/// The loaders of one request (or one WebSocket) and the keys queued for
/// the next wave.
pub struct Batcher {
    loaders: Arc<Loaders>,
    queued: Mutex<Vec<Box<dyn Queued>>>,
}

type Answer<K, V> = Arc<Result<HashMap<K, V>, async_graphql::Error>>;
type Value<K> = <Loaders as Loader<K>>::Value;

/// The keys of one key type queued in this step, and where their answer goes.
struct Batch<K, V> {
    keys: Vec<K>,
    seen: HashSet<K>,
    answer: watch::Sender<Option<Answer<K, V>>>,
}

trait Queued: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn run(self: Box<Self>, loaders: Arc<Loaders>) -> JoinHandle<()>;
}

impl<K, V> Queued for Batch<K, V>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    Loaders: Loader<K, Value = V, Error = async_graphql::Error>,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn run(self: Box<Self>, loaders: Arc<Loaders>) -> JoinHandle<()> {
        // A task of its own: the answer reaches every waiter even when the
        // request that ran the wave is gone.
        tokio::spawn(async move {
            let answer = loaders.load(&self.keys).await;
            let _ = self.answer.send(Some(Arc::new(answer)));
        })
    }
}

impl Batcher {
    pub fn new(loaders: Loaders) -> Self {
        Self {
            loaders: Arc::new(loaders),
            queued: Mutex::default(),
        }
    }

    /// The value of `key` (absent when not readable), fetched in the next
    /// wave together with every other key of its type queued in this step.
    pub async fn load_one<K>(&self, key: K) -> async_graphql::Result<Option<Value<K>>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        let mut answer = self.queue(key.clone());
        let answer = match answer.wait_for(Option::is_some).await {
            Ok(a) => a.clone(),
            // The batch's task died (a panic in a batch function).
            Err(_) => None,
        };
        match answer.as_deref() {
            Some(Ok(map)) => Ok(map.get(&key).cloned()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(crate::error::coded(crate::error::ApiError::Internal)),
        }
    }

    fn queue<K>(&self, key: K) -> watch::Receiver<Option<Answer<K, Value<K>>>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = queued
            .iter_mut()
            .find_map(|q| q.as_any().downcast_mut::<Batch<K, Value<K>>>());
        let batch = match batch {
            Some(b) => b,
            None => {
                queued.push(Box::new(Batch::<K, Value<K>> {
                    keys: Vec::new(),
                    seen: HashSet::new(),
                    answer: watch::channel(None).0,
                }));
                let last = queued.last_mut().and_then(|q| q.as_any().downcast_mut());
                last.expect("the batch just pushed")
            }
        };
        if batch.seen.insert(key.clone()) {
            batch.keys.push(key);
        }
        batch.answer.subscribe()
    }

    /// Starts every queued batch; the handles of the wave.
    fn run_queued(&self) -> Vec<JoinHandle<()>> {
        let queued =
            std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner));
        queued
            .into_iter()
            .map(|b| b.run(self.loaders.clone()))
            .collect()
    }
}

/// A future (one request) or a stream (one WebSocket) whose loads are
/// batched by step.
pub struct Steps<F> {
    inner: F,
    batcher: Arc<Batcher>,
    wave: Option<JoinAll<JoinHandle<()>>>,
}

impl<F> Steps<F> {
    pub fn new(batcher: Arc<Batcher>, inner: F) -> Self {
        Self {
            inner,
            batcher,
            wave: None,
        }
    }

    /// Polls `inner` by `poll`, running the queued batches whenever it is
    /// stuck on them.
    fn drive<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut F, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        loop {
            let woken = Arc::new(WokenFlag {
                woken: AtomicBool::new(false),
                waker: cx.waker().clone(),
            });
            let waker = Waker::from(woken.clone());
            // Outside tokio's budget: an exhausted budget ends a poll early and
            // defers its wake-up past the poll, so a step would look ended
            // while keys are still to be queued. (A long list still yields to
            // the scheduler: its futures wake at once, which the flag sees.)
            let inner = &mut self.inner;
            let mut step = tokio::task::unconstrained(std::future::poll_fn(|cx| poll(inner, cx)));
            if let Poll::Ready(out) = Pin::new(&mut step).poll(&mut Context::from_waker(&waker)) {
                return Poll::Ready(out);
            }
            // While a wave runs, the request still moves on where it needs no
            // batch (a statement of its own may hold the connection the wave
            // waits for); keys it queues wait for the next wave.
            if let Some(wave) = self.wave.as_mut() {
                if Pin::new(wave).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.wave = None;
                continue;
            }
            // Woken while polled: work is left that needs no batch (a
            // yield of a long list); the step has not ended yet.
            if woken.woken.load(Ordering::Acquire) {
                return Poll::Pending;
            }
            let wave = self.batcher.run_queued();
            if wave.is_empty() {
                return Poll::Pending;
            }
            self.wave = Some(join_all(wave));
        }
    }
}

impl<F: Future + Unpin> Future for Steps<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.get_mut().drive(cx, |f, cx| Pin::new(f).poll(cx))
    }
}

impl<S: futures_util::Stream + Unpin> futures_util::Stream for Steps<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.get_mut().drive(cx, |s, cx| Pin::new(s).poll_next(cx))
    }
}

/// A waker that notes whether it was woken, and passes the wake on.
struct WokenFlag {
    woken: AtomicBool,
    waker: Waker,
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake_by_ref();
    }
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
