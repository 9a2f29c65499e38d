use std::sync::atomic::{AtomicUsize, Ordering};

use aigw_core::keys::{Budget, KeyLimits, KeyOwner, RateLimit};
use aigw_core::FixedClock;

use super::*;

// 2025-11-22T08:26:40Z.
const NOW: i64 = 1_763_800_000_000;

fn key(limits: KeyLimits) -> VirtualKey {
    VirtualKey {
        id: "0123456789abcdef".into(),
        account_id: "acct".into(),
        name: "ci".into(),
        owner: KeyOwner::default(),
        secret_hash: vec![0; 32],
        created_at_ms: 0,
        modified_at_ms: 0,
        expires_at_ms: None,
        revoked_at_ms: None,
        limits,
    }
}

fn setup(limits: KeyLimits) -> (VirtualKey, Arc<Mutex<KeyState>>, Arc<FixedClock>, Arc<dyn Clock>) {
    let fixed = Arc::new(FixedClock::new(NOW));
    let clock: Arc<dyn Clock> = fixed.clone();
    (key(limits), Arc::new(Mutex::new(KeyState::new(NOW))), fixed, clock)
}

fn budget(usd: f64, period: BudgetPeriod) -> KeyLimits {
    KeyLimits { budget: Some(Budget { usd, period }), ..KeyLimits::default() }
}

#[test]
fn request_rate_allows_a_burst_of_the_limit_then_refills_over_the_minute() {
    let limits = KeyLimits {
        rate_limit: RateLimit { requests_per_minute: Some(3), tokens_per_minute: None },
        ..KeyLimits::default()
    };
    let (key, state, fixed, clock) = setup(limits);
    for _ in 0..3 {
        admit(&state, &key, 0.0, &clock).unwrap().settle(None, 0);
    }
    let refused = admit(&state, &key, 0.0, &clock).unwrap_err();
    assert_eq!(refused, Refusal::Requests { limit: 3, retry_after_ms: 20_000 });
    fixed.advance(19_999);
    assert!(admit(&state, &key, 0.0, &clock).is_err());
    fixed.advance(1);
    assert!(admit(&state, &key, 0.0, &clock).is_ok());
    assert!(admit(&state, &key, 0.0, &clock).is_err());
}

#[test]
fn token_rate_counts_finished_requests_and_may_go_below_zero() {
    let limits = KeyLimits {
        rate_limit: RateLimit { requests_per_minute: None, tokens_per_minute: Some(100) },
        ..KeyLimits::default()
    };
    let (key, state, fixed, clock) = setup(limits);
    // Two requests in flight at once are both admitted; together they use 250 tokens.
    let a = admit(&state, &key, 0.0, &clock).unwrap();
    let b = admit(&state, &key, 0.0, &clock).unwrap();
    a.settle(None, 125);
    b.settle(None, 125);
    let Err(Refusal::Tokens { limit: 100, retry_after_ms }) = admit(&state, &key, 0.0, &clock) else {
        panic!("expected a token refusal");
    };
    // 150 below zero, plus one token, at 100 per minute.
    assert_eq!(retry_after_ms, 90_600);
    fixed.advance(90_600);
    assert!(admit(&state, &key, 0.0, &clock).is_ok());
}

#[test]
fn budget_reserves_estimates_and_settles_on_the_real_cost() {
    let (key, state, _fixed, clock) = setup(budget(1.0, BudgetPeriod::Day));
    let a = admit(&state, &key, 0.4, &clock).unwrap();
    let b = admit(&state, &key, 0.4, &clock).unwrap();
    // 0.8 reserved: another 0.4 would exceed the budget.
    let Err(Refusal::Budget { spent, reserved, usd, period, resets_at_ms }) = admit(&state, &key, 0.4, &clock) else {
        panic!("expected a budget refusal");
    };
    assert_eq!((spent, usd, period), (0.0, 1.0, BudgetPeriod::Day));
    assert!((reserved - 0.8).abs() < 1e-12);
    assert_eq!(resets_at_ms, Some(BudgetPeriod::Day.end_ms(NOW).unwrap()));
    // Settled cheaper than estimated: room comes back.
    a.settle(Some(0.1), 10);
    b.settle(Some(0.1), 10);
    assert!((state.lock().unwrap().spent(BudgetPeriod::Day, NOW) - 0.2).abs() < 1e-12);
    let c = admit(&state, &key, 0.8, &clock).unwrap();
    drop(c); // unsettled: the estimate is given back, nothing spent
    assert!(admit(&state, &key, 0.8, &clock).is_ok());
}

#[test]
fn exact_fits_are_admitted() {
    let (key, state, _fixed, clock) = setup(budget(50.0, BudgetPeriod::Total));
    let held: Vec<_> = (0..5).map(|_| admit(&state, &key, 10.0, &clock).unwrap()).collect();
    assert!(admit(&state, &key, 10.0, &clock).is_err());
    for r in held {
        r.settle(Some(10.0), 15);
    }
    assert!(admit(&state, &key, 10.0, &clock).is_err());
    assert!((state.lock().unwrap().spent(BudgetPeriod::Total, NOW) - 50.0).abs() < 1e-9);
}

#[test]
fn concurrent_requests_never_take_a_budget_past_its_limit() {
    let (key, state, _fixed, clock) = setup(budget(5.0, BudgetPeriod::Month));
    let key = Arc::new(key);
    let admitted = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (key, state, clock, admitted) = (key.clone(), state.clone(), clock.clone(), admitted.clone());
            std::thread::spawn(move || {
                if let Ok(r) = admit(&state, &key, 1.0, &clock) {
                    admitted.fetch_add(1, Ordering::SeqCst);
                    r.settle(Some(1.0), 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(admitted.load(Ordering::SeqCst), 5);
    assert!((state.lock().unwrap().spent(BudgetPeriod::Month, NOW) - 5.0).abs() < 1e-9);
}

#[test]
fn a_new_day_starts_a_new_daily_budget_but_keeps_the_month() {
    let (key, state, fixed, clock) = setup(budget(1.0, BudgetPeriod::Day));
    admit(&state, &key, 1.0, &clock).unwrap().settle(Some(1.0), 0);
    assert!(admit(&state, &key, 0.01, &clock).is_err());
    fixed.set(BudgetPeriod::Day.end_ms(NOW).unwrap());
    let r = admit(&state, &key, 0.5, &clock).unwrap();
    r.settle(Some(0.5), 0);
    let mut s = state.lock().unwrap();
    let now = clock.now_ms();
    assert!((s.spent(BudgetPeriod::Day, now) - 0.5).abs() < 1e-12);
    assert!((s.spent(BudgetPeriod::Month, now) - 1.5).abs() < 1e-12);
    assert!((s.spent(BudgetPeriod::Total, now) - 1.5).abs() < 1e-12);
}

#[test]
fn a_request_of_yesterday_settled_today_does_not_count_today() {
    let (key, state, fixed, clock) = setup(budget(1.0, BudgetPeriod::Day));
    let r = admit(&state, &key, 0.5, &clock).unwrap();
    fixed.set(BudgetPeriod::Day.end_ms(NOW).unwrap() + 5);
    r.settle(Some(0.5), 0);
    let mut s = state.lock().unwrap();
    assert_eq!(s.spent(BudgetPeriod::Day, clock.now_ms()), 0.0);
    assert!((s.spent(BudgetPeriod::Total, clock.now_ms()) - 0.5).abs() < 1e-12);
}

#[test]
fn seeded_spend_counts_against_the_budget() {
    let (key, state, _fixed, clock) = setup(budget(1.0, BudgetPeriod::Week));
    let seed = KeySpend { key_id: key.id.clone(), day: 0.1, week: 0.95, month: 2.0, total: 3.0, last_used_ms: Some(5) };
    state.lock().unwrap().seed(&seed, NOW);
    assert!(admit(&state, &key, 0.1, &clock).is_err());
    assert!(admit(&state, &key, 0.05, &clock).is_ok());
    assert_eq!(state.lock().unwrap().last_used_ms(), Some(NOW));
}

#[test]
fn estimates_bound_the_input_by_bytes_and_the_output_by_the_request() {
    let prices = PriceTable::from_toml(
        r#"
        [[models]]
        provider = "openai"
        model = "gpt-4o-mini"
        input = 1.0
        output = 2.0
        cache_write = 3.0
        "#,
    )
    .unwrap();
    let body = br#"{"model":"gpt-4o-mini","max_tokens":100,"n":2}"#;
    let e = estimate(&prices, "openai", "gpt-4o-mini", body).unwrap();
    assert!((e - (body.len() as f64 * 3.0 + 200.0 * 2.0) / 1e6).abs() < 1e-15);
    let gemini = br#"{"generationConfig":{"maxOutputTokens":10}}"#;
    let e = estimate(&prices, "openai", "gpt-4o-mini", gemini).unwrap();
    assert!((e - (gemini.len() as f64 * 3.0 + 20.0) / 1e6).abs() < 1e-15);
    let e = estimate(&prices, "openai", "gpt-4o-mini", b"{}").unwrap();
    assert!((e - (2.0 * 3.0 + DEFAULT_OUTPUT_ESTIMATE as f64 * 2.0) / 1e6).abs() < 1e-15);
    assert_eq!(estimate(&prices, "openai", "unpriced", b"{}"), None);
}
