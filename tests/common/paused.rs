//! A store whose next listing stops after reading its page until the test lets it go on:
//! a maintenance scan ([`Engine::key_usage`], [`Engine::retire_key`],
//! [`Engine::sweep_expired`]) caught between what it read and what it does with it.
//!
//! [`Engine::key_usage`]: totp_enroll::Engine::key_usage
//! [`Engine::retire_key`]: totp_enroll::Engine::retire_key
//! [`Engine::sweep_expired`]: totp_enroll::Engine::sweep_expired

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use totp_enroll::{
    AccountId, Store, error::StoreError, lifecycle::Enrollment, store::Listed, store::OutboxEntry,
    store::Versioned,
};

pub struct PausedListing<S> {
    pub inner: S,
    armed: AtomicBool,
    listed: Notify,
    resume: Notify,
}

impl<S: Store> PausedListing<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            armed: AtomicBool::new(false),
            listed: Notify::new(),
            resume: Notify::new(),
        }
    }

    /// The next listing pauses once it has read its page.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Waits until the armed listing has read its page and paused.
    pub async fn paused(&self) {
        self.listed.notified().await;
    }

    /// Lets the paused listing return its page.
    pub fn resume(&self) {
        self.resume.notify_one();
    }
}

impl<S: Store> Store for PausedListing<S> {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        self.inner.load(account).await
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        self.inner.version(account).await
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.inner
            .replace_if(account, expected, record, events)
            .await
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner.append_events(account, events).await
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.inner.forget(account, expected, events).await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner
            .reinstate(account, expected, record, events)
            .await
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let page = self.inner.list(after, limit).await?;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.listed.notify_one();
            self.resume.notified().await;
        }
        Ok(page)
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.pending_events(limit).await
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        self.inner.acknowledge(ids).await
    }
}
