//! Schedules loaded for availability searches, kept on the node that loaded
//! them and trusted only while the business's schedule version they were
//! read at is still current. The version moves in the same commit as any
//! change to what a schedule holds (a booking, a cancellation, hours, time
//! off, a service…), so checking it — one primary-key lookup — is as good as
//! loading again, and a search answered from here is exactly what a fresh
//! load would answer. Nothing is shared between nodes: each keeps its own.
//! Bookings never read from here; the database's exclusion constraints have
//! the last word on them whatever a search showed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use ftry_store::scheduling;
use ftry_store::{PoolName, Pools};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use uuid::Uuid;

use crate::booking::{self, Loaded};
use crate::error::AppError;

/// Schedules held at most; a full cache starts again empty (a schedule is
/// tens of kilobytes, so this bounds the memory to a few tens of megabytes).
const CAPACITY: usize = 512;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    tenant_id: Uuid,
    location_id: Uuid,
    first: NaiveDate,
    last: NaiveDate,
    online: bool,
    services: Vec<Uuid>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    cache: &'static str,
    result: &'static str,
}

/// Clones share one cache.
#[derive(Clone, Default)]
pub struct ScheduleCache {
    entries: Arc<Mutex<HashMap<Key, Arc<Loaded>>>>,
    lookups: Family<LookupLabels, Counter>,
}

/// What one availability search asks for.
pub(crate) struct Search<'a> {
    pub tenant_id: Uuid,
    pub location_id: Uuid,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub online: bool,
    pub services: &'a [Uuid],
    /// The business's schedule version when the caller has just read it
    /// (with the session's standing): no need to ask again.
    pub version: Option<i64>,
}

impl ScheduleCache {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "ftry_cache_lookups",
            "Lookups in a node's caches, by cache and result (hit, miss)",
            self.lookups.clone(),
        );
    }

    /// The schedule a search needs: the one held here when it was loaded at
    /// the current version, else a fresh load (then held).
    ///
    /// A search answered from here costs one round trip to the database (the
    /// version), none when the caller brings the version; a miss loads in a
    /// transaction of its own.
    pub(crate) async fn schedule(&self, pools: &Pools, search: &Search<'_>) -> Result<Arc<Loaded>, AppError> {
        let mut services = search.services.to_vec();
        services.sort_unstable();
        services.dedup();
        let key = Key {
            tenant_id: search.tenant_id,
            location_id: search.location_id,
            first: search.first,
            last: search.last,
            online: search.online,
            services,
        };
        let version = match search.version {
            Some(version) => version,
            None => {
                let mut conn = pools.acquire(PoolName::App).await?;
                scheduling::version(&mut conn, search.tenant_id).await?
            }
        };
        let held = self.lock().get(&key).cloned();
        if let Some(held) = held.filter(|held| held.rows.version == version) {
            self.count("hit");
            return Ok(held);
        }
        self.count("miss");
        let mut tx = pools.begin(search.tenant_id).await?;
        let loaded = booking::load(
            &mut tx,
            &pools.metrics,
            key.location_id,
            key.first,
            key.last,
            key.online,
            None,
            Some(&key.services),
        )
        .await?;
        tx.commit().await?;
        let loaded = Arc::new(loaded);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, Arc::clone(&loaded));
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Loaded>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count(&self, result: &'static str) {
        self.lookups
            .get_or_create(&LookupLabels {
                cache: "schedule",
                result,
            })
            .inc();
    }
}
