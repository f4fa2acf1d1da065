//! Clocks.

use super::*;

#[test]
fn manual_clock_set_before_1970_reports_before_unix_epoch() {
    assert_eq!(ManualClock::new(-1).now(), Err(ClockError::BeforeUnixEpoch));
    assert_eq!(
        ManualClock::new(i64::MIN).now(),
        Err(ClockError::BeforeUnixEpoch)
    );
    let clock = ManualClock::new(1_700_000_000);
    clock.set(-86_400);
    assert_eq!(clock.now(), Err(ClockError::BeforeUnixEpoch));
}

#[test]
fn manual_clock_reads_what_it_was_set_to_from_the_epoch_on() {
    assert_eq!(ManualClock::new(0).now(), Ok(0));
    assert_eq!(ManualClock::default().now(), Ok(0));
    assert_eq!(ManualClock::new(i64::MAX).now(), Ok(i64::MAX as u64));
    let clock = ManualClock::new(1_700_000_000);
    clock.advance(30);
    assert_eq!(clock.now(), Ok(1_700_000_030));
    clock.advance(-1_700_000_031);
    assert_eq!(clock.now(), Err(ClockError::BeforeUnixEpoch));
    clock.set(i64::MAX);
    clock.advance(1);
    assert_eq!(clock.now(), Ok(i64::MAX as u64));
}

#[test]
fn manual_clock_works_through_an_arc() {
    let clock = std::sync::Arc::new(ManualClock::new(59));
    assert_eq!(clock.now(), Ok(59));
    let shared: std::sync::Arc<dyn Clock> = clock.clone();
    clock.set(-5);
    assert_eq!(shared.now(), Err(ClockError::BeforeUnixEpoch));
}

#[test]
fn system_clock_reads_a_time_after_2020() {
    assert!(SystemClock.now().unwrap() > 1_577_836_800);
}
