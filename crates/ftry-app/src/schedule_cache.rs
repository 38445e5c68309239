//! Schedules loaded for availability searches, kept on the node that loaded
//! them and trusted only while the business's schedule version they were
//! read at is still current. The version moves in the same commit as any
//! change to what a schedule holds (a booking, a cancellation, hours, time
//! off, a service…), so checking it — one primary-key lookup — is as good as
//! loading again, and a search answered from here is exactly what a fresh
//! load would answer. Nothing is shared between nodes: each keeps its own.
//! Bookings never read from here; the database's exclusion constraints have
//! the last word on them whatever a search showed.
//!
//! Calendar days drawn for the front desk are held too, trusted while both
//! the schedule version and the calendar version (moved by any change to a
//! visit and by a client's new name) are the ones they were drawn at.
//!
//! Each held schedule also keeps the answers searched from it: an answer
//! found earlier the same local day is the answer now, less the slots that
//! have come too close (`ftry_domain::availability::still_bookable`, which
//! the engine's property tests check against a fresh search). Answers are
//! bounded by [`ANSWER_SLOTS`] slots in all.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use ftry_domain::availability::{still_bookable, Slot};
use ftry_store::scheduling;
use ftry_store::{PoolName, Pools};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use uuid::Uuid;

use crate::booking::{self, Loaded};
use crate::error::AppError;

/// Schedules (and businesses' branch lists) held at most; a full cache
/// starts again empty.
const CAPACITY: usize = 512;

/// What the held schedules may weigh together (see `Loaded::weight`): a
/// schedule's size grows with the bookings in its window (a busy branch's
/// fortnight for one service is some hundreds of kilobytes), so the count
/// alone does not bound the memory. Past it, the cache starts again empty.
const SCHEDULE_BYTES: usize = 24 << 20;

/// Calendar days (or weeks) held at most, and what they may weigh together
/// (a busy branch's week is a couple of hundred kilobytes); past either, the
/// set starts again empty.
const CALENDAR_CAPACITY: usize = 128;
const CALENDAR_BYTES: usize = 8 << 20;

/// Slots held in answers at most, over all schedules (a slot is about 200
/// bytes: some 20 MB). Past it, answers are computed and not kept.
const ANSWER_SLOTS: usize = 100_000;

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

/// A business's versions, as read with a session's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub schedule: i64,
    pub calendar: i64,
}

/// A location's calendar over `days` days from `date`, as the front desk sees it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct DayKey {
    pub tenant_id: Uuid,
    pub location_id: Uuid,
    pub date: NaiveDate,
    pub days: u32,
}

/// Calendars with the versions they were drawn at.
type HeldDays = Bounded<DayKey, (Versions, Arc<crate::calendar::DrawnCalendar>)>;
/// Each business's branches with the schedule version they were read at.
type HeldLocations = Bounded<Uuid, (i64, Arc<Vec<ftry_store::tenants::Location>>)>;

/// A map whose values are weighed: a new key past `capacity` entries, or a
/// value that would take the weight held past `budget`, first empties it.
struct Bounded<K, V> {
    map: HashMap<K, (usize, V)>,
    weight: usize,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            weight: 0,
        }
    }
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(_, value)| value)
    }

    fn insert(&mut self, key: K, value: V, weight: usize, capacity: usize, budget: usize) {
        let replaced = self.map.get(&key).map_or(0, |(w, _)| *w);
        let full = self.map.len() >= capacity && !self.map.contains_key(&key);
        if full || self.weight - replaced + weight > budget {
            self.map.clear();
            self.weight = 0;
        } else {
            self.weight -= replaced;
        }
        self.weight += weight;
        self.map.insert(key, (weight, value));
    }
}

/// Clones share one cache.
#[derive(Clone, Default)]
pub struct ScheduleCache {
    entries: Arc<Mutex<Bounded<Key, Arc<Held>>>>,
    days: Arc<Mutex<HeldDays>>,
    /// Each business's branches (the `locations` table moves the schedule
    /// version), with the version they were read at.
    locations: Arc<Mutex<HeldLocations>>,
    lookups: Family<LookupLabels, Counter>,
    /// Slots in the answers held now.
    answer_slots: Arc<AtomicUsize>,
}

/// A schedule held, with the answers searched from it.
struct Held {
    loaded: Arc<Loaded>,
    answers: Mutex<HashMap<AnswerKey, Arc<Answer>>>,
}

/// What an answer depends on besides the schedule and the time.
#[derive(Debug, Hash, PartialEq, Eq)]
struct AnswerKey {
    items: Vec<(Uuid, Option<Uuid>)>,
    first: NaiveDate,
    last: NaiveDate,
}

struct Answer {
    found_at: DateTime<Utc>,
    slots: Vec<Slot>,
    /// The budget this answer's slots count against, given back when it goes.
    budget: Arc<AtomicUsize>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.slots.len(), Ordering::Relaxed);
    }
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
        Ok(Arc::clone(&self.held(pools, search).await?.loaded))
    }

    /// The bookable slots for `query` (whose services are `search`'s), from
    /// an answer held with the schedule when it still stands, else searched.
    pub(crate) async fn slots(
        &self,
        pools: &Pools,
        search: &Search<'_>,
        query: &crate::appointments::AvailabilityQuery,
    ) -> Result<Vec<Slot>, AppError> {
        let held = self.held(pools, search).await?;
        let key = AnswerKey {
            items: query
                .services
                .iter()
                .enumerate()
                .map(|(i, service)| (*service, query.staff.get(i).copied().flatten()))
                .collect(),
            first: query.first_date,
            last: query.last_date,
        };
        let now = Utc::now();
        let answer = lock(&held.answers).get(&key).cloned();
        if let Some(answer) = answer {
            if let Some(from) = still_bookable(&held.loaded.schedule, answer.found_at, &answer.slots, now) {
                self.count("answer", "hit");
                return Ok(answer.slots[from..].to_vec());
            }
        }
        self.count("answer", "miss");
        let slots = crate::appointments::slots_at(&held.loaded, query, now)?;
        if self.answer_slots.fetch_add(slots.len(), Ordering::Relaxed) + slots.len() <= ANSWER_SLOTS {
            let answer = Answer {
                found_at: now,
                slots: slots.clone(),
                budget: Arc::clone(&self.answer_slots),
            };
            lock(&held.answers).insert(key, Arc::new(answer));
        } else {
            self.answer_slots.fetch_sub(slots.len(), Ordering::Relaxed);
        }
        Ok(slots)
    }

    /// The calendar held for `key` when drawn at `versions`.
    pub(crate) fn calendar(
        &self,
        key: &DayKey,
        versions: Versions,
    ) -> Option<Arc<crate::calendar::DrawnCalendar>> {
        let held = held_at(&self.days, key, versions);
        self.count("calendar", if held.is_some() { "hit" } else { "miss" });
        held
    }

    /// The business's branches held when read at schedule version `version`.
    pub(crate) fn locations(
        &self,
        tenant_id: Uuid,
        version: i64,
    ) -> Option<Arc<Vec<ftry_store::tenants::Location>>> {
        let held = held_at(&self.locations, &tenant_id, version);
        self.count("locations", if held.is_some() { "hit" } else { "miss" });
        held
    }

    /// Hold a business's branches read at schedule version `version` or later.
    pub(crate) fn hold_locations(
        &self,
        tenant_id: Uuid,
        version: i64,
        list: Arc<Vec<ftry_store::tenants::Location>>,
    ) {
        let weight = std::mem::size_of_val(list.as_slice());
        lock(&self.locations).insert(tenant_id, (version, list), weight, CAPACITY, usize::MAX);
    }

    /// Hold a calendar drawn with what was current at `versions` or later.
    pub(crate) fn hold_calendar(
        &self,
        key: DayKey,
        versions: Versions,
        calendar: Arc<crate::calendar::DrawnCalendar>,
    ) {
        let weight = calendar.weight();
        lock(&self.days).insert(
            key,
            (versions, calendar),
            weight,
            CALENDAR_CAPACITY,
            CALENDAR_BYTES,
        );
    }

    async fn held(&self, pools: &Pools, search: &Search<'_>) -> Result<Arc<Held>, AppError> {
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
        let held = lock(&self.entries).get(&key).cloned();
        if let Some(held) = held.filter(|held| held.loaded.rows.version == version) {
            self.count("schedule", "hit");
            return Ok(held);
        }
        self.count("schedule", "miss");
        let mut tx = pools.begin(search.tenant_id).await?;
        let loaded = booking::load(
            &mut tx,
            &pools.metrics,
            key.location_id,
            key.first,
            key.last,
            key.online,
            None,
            ftry_store::scheduling::Only {
                services: Some(&key.services),
                staff: None,
            },
        )
        .await?;
        tx.commit().await?;
        let held = Arc::new(Held {
            loaded: Arc::new(loaded),
            answers: Mutex::default(),
        });
        let weight = held.loaded.weight();
        lock(&self.entries).insert(key, Arc::clone(&held), weight, CAPACITY, SCHEDULE_BYTES);
        Ok(held)
    }

    fn count(&self, cache: &'static str, result: &'static str) {
        self.lookups.get_or_create(&LookupLabels { cache, result }).inc();
    }
}

/// What `map` holds for `key` if it was made at `at`.
fn held_at<K: Hash + Eq, A: PartialEq, V>(
    map: &Mutex<Bounded<K, (A, Arc<V>)>>,
    key: &K,
    at: A,
) -> Option<Arc<V>> {
    lock(map)
        .get(key)
        .filter(|(made_at, _)| *made_at == at)
        .map(|(_, value)| Arc::clone(value))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod bounded_tests {
    use super::Bounded;

    fn keys(map: &Bounded<u32, &'static str>) -> Vec<u32> {
        let mut keys: Vec<u32> = map.map.keys().copied().collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_value_that_would_take_the_weight_past_the_budget_empties_the_map_first() {
        let mut map = Bounded::default();
        map.insert(1, "a", 40, 10, 100);
        map.insert(2, "b", 50, 10, 100);
        assert_eq!((keys(&map), map.weight), (vec![1, 2], 90));
        map.insert(3, "c", 20, 10, 100);
        assert_eq!((keys(&map), map.weight), (vec![3], 20));
        assert_eq!(map.get(&3), Some(&"c"));
        assert_eq!(map.get(&1), None);
    }

    #[test]
    fn replacing_a_key_weighs_the_new_value_instead_of_the_old() {
        let mut map = Bounded::default();
        map.insert(1, "a", 60, 10, 100);
        map.insert(2, "b", 30, 10, 100);
        map.insert(1, "a2", 10, 10, 100);
        assert_eq!((keys(&map), map.weight), (vec![1, 2], 40));
        assert_eq!(map.get(&1), Some(&"a2"));
        map.insert(2, "b2", 95, 10, 100);
        assert_eq!((keys(&map), map.weight), (vec![2], 95));
    }

    #[test]
    fn a_new_key_past_the_capacity_empties_the_map_first_whatever_the_weight() {
        let mut map = Bounded::default();
        map.insert(1, "a", 1, 2, 100);
        map.insert(2, "b", 1, 2, 100);
        map.insert(2, "b2", 1, 2, 100);
        assert_eq!((keys(&map), map.weight), (vec![1, 2], 2));
        map.insert(3, "c", 1, 2, 100);
        assert_eq!((keys(&map), map.weight), (vec![3], 1));
    }
}
