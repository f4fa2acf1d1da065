//! The in-memory sessions of one kind (customers or operators), bounded so that no
//! anonymous client can use them: a session exists only from a passed password step, each
//! login ID (or operator) holds at most `max_per_login` (its own oldest ends for a new
//! one), and a full store refuses a new login instead of evicting anyone else's session.
//!
//! Expired sessions are purged as time goes by, without scanning the store: two ordered
//! indexes (by last activity, by creation) give the expired ones first, so each purge
//! touches only what it removes.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use totp_enroll::Clock;

use super::config::SessionConfig;
use super::{SessionData, random_token};

/// A new session was refused: the store holds its maximum (answered with 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session store is full")]
pub struct SessionsFull;

/// An id, shared by the map and its indexes.
type Id = Arc<str>;

#[derive(Debug)]
struct Entry {
    data: SessionData,
    /// The login ID (or operator) whose password started it.
    owner: Id,
    /// Its place in the order of logins (kept by a rotation): "oldest" among sessions
    /// started in the same second.
    started: u64,
    created: u64,
    last_seen: u64,
}

/// The sessions and their indexes; every change keeps the four in step.
#[derive(Debug, Default)]
struct Sessions {
    entries: HashMap<Id, Entry>,
    by_last_seen: BTreeSet<(u64, Id)>,
    by_created: BTreeSet<(u64, Id)>,
    /// Each owner's sessions, oldest first (by [`Entry::started`]).
    by_owner: HashMap<Id, BTreeSet<(u64, Id)>>,
    /// The next [`Entry::started`].
    logins: u64,
}

impl Sessions {
    fn add(&mut self, id: Id, entry: Entry) {
        self.by_last_seen.insert((entry.last_seen, id.clone()));
        self.by_created.insert((entry.created, id.clone()));
        self.by_owner
            .entry(entry.owner.clone())
            .or_default()
            .insert((entry.started, id.clone()));
        self.entries.insert(id, entry);
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let (id, entry) = self.entries.remove_entry(id)?;
        self.by_last_seen.remove(&(entry.last_seen, id.clone()));
        self.by_created.remove(&(entry.created, id.clone()));
        if let Some(owned) = self.by_owner.get_mut(&entry.owner) {
            owned.remove(&(entry.started, id));
            if owned.is_empty() {
                self.by_owner.remove(&entry.owner);
            }
        }
        Some(entry)
    }

    /// Removes every session idle for `idle` seconds or older than `absolute` at `now`:
    /// the oldest of each index first, stopping at the first live one.
    fn purge(&mut self, now: u64, idle: u64, absolute: u64) {
        for (index, lifetime) in [(true, idle), (false, absolute)] {
            loop {
                let set = if index {
                    &self.by_last_seen
                } else {
                    &self.by_created
                };
                let Some((at, id)) = set.first().cloned() else {
                    break;
                };
                if at.saturating_add(lifetime) > now {
                    break;
                }
                self.remove(&id);
            }
        }
    }
}

/// The sessions of one kind (customers or operators).
pub struct SessionStore {
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    sessions: Mutex<Sessions>,
}

impl core::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// An empty store.
    pub fn new(config: SessionConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            sessions: Mutex::new(Sessions::default()),
        }
    }

    /// The store's settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How many sessions are held (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many sessions `owner` holds.
    pub fn sessions_of(&self, owner: &str) -> usize {
        self.lock().by_owner.get(owner).map_or(0, BTreeSet::len)
    }

    fn now(&self) -> u64 {
        self.clock.now().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // A panic while holding the lock leaves plain data; keep serving.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The store locked, with the sessions expired at `now` purged.
    fn purged(&self, now: u64) -> MutexGuard<'_, Sessions> {
        let lifetimes = self.config.settings.lifetimes;
        let mut sessions = self.lock();
        sessions.purge(now, lifetimes.idle(), lifetimes.absolute());
        sessions
    }

    /// Marks `id` as seen now; whether it is a live session.
    pub(super) fn touch(&self, id: &str) -> bool {
        let now = self.now();
        let mut sessions = self.purged(now);
        let Some(entry) = sessions.remove(id) else {
            return false;
        };
        let id: Id = id.into();
        sessions.add(
            id,
            Entry {
                last_seen: now.max(entry.last_seen),
                ..entry
            },
        );
        true
    }

    /// Starts a session of `owner` with `data`; its new id. The owner's own oldest
    /// sessions end when it holds its maximum; a full store refuses.
    pub(super) fn insert(&self, owner: &str, data: SessionData) -> Result<String, SessionsFull> {
        let now = self.now();
        let id = random_token();
        if id.is_empty() {
            // No randomness, no safe id: as good as full.
            return Err(SessionsFull);
        }
        let settings = self.config.settings;
        let mut sessions = self.purged(now);
        while sessions.by_owner.get(owner).map_or(0, BTreeSet::len) >= settings.max_per_login.max(1)
        {
            let Some((_, oldest)) = sessions
                .by_owner
                .get(owner)
                .and_then(|owned| owned.first().cloned())
            else {
                break;
            };
            sessions.remove(&oldest);
        }
        if sessions.entries.len() >= settings.max_sessions {
            return Err(SessionsFull);
        }
        let started = sessions.logins;
        sessions.logins = started.saturating_add(1);
        sessions.add(
            id.as_str().into(),
            Entry {
                data,
                owner: owner.into(),
                started,
                created: now,
                last_seen: now,
            },
        );
        Ok(id)
    }

    /// Ends session `id`.
    pub(super) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Moves session `id` to a new id with a new CSRF token, keeping its owner, state and
    /// age; the new id, or `None` when `id` is no session.
    pub(super) fn rotate(&self, id: &str) -> Option<String> {
        let new = random_token();
        if new.is_empty() {
            return None;
        }
        let mut sessions = self.lock();
        let mut entry = sessions.remove(id)?;
        entry.data.csrf = random_token();
        sessions.add(new.as_str().into(), entry);
        Some(new)
    }

    /// Ends every session of `owner` but `except`; how many ended.
    pub fn end_sessions_of(&self, owner: &str, except: Option<&str>) -> usize {
        let mut sessions = self.lock();
        let ids: Vec<Id> = sessions
            .by_owner
            .get(owner)
            .map(|owned| owned.iter().map(|(_, id)| id.clone()).collect())
            .unwrap_or_default();
        let mut ended = 0usize;
        for id in ids.iter().filter(|id| Some(&***id) != except) {
            if sessions.remove(id).is_some() {
                ended = ended.saturating_add(1);
            }
        }
        ended
    }

    /// The owner of session `id`.
    pub(super) fn owner(&self, id: &str) -> Option<String> {
        self.lock().entries.get(id).map(|e| e.owner.to_string())
    }

    /// A copy of session `id`'s state (empty if there is none).
    pub(super) fn data(&self, id: &str) -> SessionData {
        self.lock()
            .entries
            .get(id)
            .map(|e| e.data.clone())
            .unwrap_or_default()
    }

    /// Changes session `id`'s state.
    pub(super) fn update<R>(&self, id: &str, f: impl FnOnce(&mut SessionData) -> R) -> Option<R> {
        self.lock().entries.get_mut(id).map(|e| f(&mut e.data))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::config::{SessionLifetimes, SessionSettings};
    use super::*;
    use totp_enroll::ManualClock;

    fn store(max_sessions: usize, max_per_login: usize) -> (SessionStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_000));
        let settings = SessionSettings {
            lifetimes: SessionLifetimes::new(900, 28_800).unwrap(),
            max_sessions,
            max_per_login,
        };
        let config = SessionConfig::customer(false, settings);
        (SessionStore::new(config, clock.clone()), clock)
    }

    #[test]
    fn a_login_ids_own_oldest_session_makes_room_for_its_new_one() {
        let (store, clock) = store(100, 2);
        let first = store.insert("taro", SessionData::fresh()).unwrap();
        clock.advance(1);
        let second = store.insert("taro", SessionData::fresh()).unwrap();
        let hanako = store.insert("hanako", SessionData::fresh()).unwrap();
        clock.advance(1);
        assert!(store.touch(&first), "touched: still the oldest by creation");
        let third = store.insert("taro", SessionData::fresh()).unwrap();
        assert!(!store.touch(&first), "taro's oldest went");
        assert!(store.touch(&second) && store.touch(&third) && store.touch(&hanako));
        assert_eq!(store.sessions_of("taro"), 2);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn a_full_store_refuses_and_evicts_nobody() {
        let (store, _) = store(2, 5);
        let a = store.insert("taro", SessionData::fresh()).unwrap();
        let b = store.insert("hanako", SessionData::fresh()).unwrap();
        assert_eq!(
            store.insert("jiro", SessionData::fresh()),
            Err(SessionsFull)
        );
        assert!(store.touch(&a) && store.touch(&b));
    }

    #[test]
    fn expired_sessions_are_purged_as_time_goes_by() {
        let (store, clock) = store(2, 5);
        let old = store.insert("taro", SessionData::fresh()).unwrap();
        store.insert("hanako", SessionData::fresh()).unwrap();
        clock.advance(600);
        let kept = store.insert("hanako", SessionData::fresh());
        assert_eq!(kept, Err(SessionsFull), "none expired yet");
        clock.advance(300);
        // 15 minutes idle: both first sessions expired, purged by the next insert.
        let new = store.insert("jiro", SessionData::fresh()).unwrap();
        assert_eq!(store.len(), 1);
        assert!(!store.touch(&old));
        // However active, 8 hours end a session.
        for _ in 0..32 {
            clock.advance(899);
            assert!(store.touch(&new));
        }
        clock.advance(28_800 - 32 * 899);
        assert!(!store.touch(&new));
        assert!(store.is_empty());
    }

    #[test]
    fn rotation_keeps_the_state_owner_and_age_under_a_new_id_and_token() {
        let (store, clock) = store(10, 5);
        let id = store.insert("taro", SessionData::fresh()).unwrap();
        store.update(&id, |d| d.customer = Some("taro".into()));
        let before = store.data(&id).csrf;
        for _ in 0..35 {
            clock.advance(800);
            assert!(store.touch(&id));
        }
        let new = store.rotate(&id).unwrap();
        assert_ne!(new, id);
        assert!(!store.touch(&id), "the old id is dead");
        let data = store.data(&new);
        assert_eq!(data.customer.as_deref(), Some("taro"));
        assert_ne!(data.csrf, before);
        assert_eq!(store.owner(&new).as_deref(), Some("taro"));
        clock.advance(800);
        assert!(
            !store.touch(&new),
            "the absolute lifetime counts from the login"
        );
    }

    #[test]
    fn all_sessions_of_an_owner_end_but_the_one_kept() {
        let (store, _) = store(10, 5);
        let a = store.insert("taro", SessionData::fresh()).unwrap();
        let b = store.insert("taro", SessionData::fresh()).unwrap();
        let c = store.insert("hanako", SessionData::fresh()).unwrap();
        assert_eq!(store.end_sessions_of("taro", Some(&a)), 1);
        assert!(store.touch(&a) && !store.touch(&b) && store.touch(&c));
        assert_eq!(store.end_sessions_of("taro", None), 1);
        assert!(!store.touch(&a));
        assert_eq!(store.sessions_of("taro"), 0);
    }
}
