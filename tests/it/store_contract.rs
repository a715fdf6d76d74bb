//! The store contract, run on MemoryStore and on DynamoDB Local alike:
//! liveness and TTL lag, conditional writes, take, transactions, races.

use shared::clock::{Clock, ManualClock};
use shared::store::{Add, Check, Cond, Item, Op, Store, StoreError, Value};
use std::sync::Arc;
use tests::on_both_stores;

/// DynamoDB Local deletes items whose `expires_at` has passed by its own
/// wall clock, so expiry is tested by moving the injected clock past an
/// `expires_at` that is still in the future for real.
fn clock() -> ManualClock {
    ManualClock::at_system_time()
}

fn item(pk: &str, now: i64, ttl: i64) -> Item {
    Item::new(pk).with_s("answer", "abcd").with_n("attempts", 0).expiring_at(now + ttl)
}

async fn an_absent_item_reads_as_none(store: Arc<impl Store>) {
    assert_eq!(store.get("nothing#here", clock().now()).await.unwrap(), None);
}

async fn a_put_item_reads_back_with_its_attributes(store: Arc<impl Store>) {
    let now = clock().now();
    let written = item("k#1", now, 300).with_s("name", "名字");
    store.put(written.clone(), Cond::Always, now).await.unwrap();
    assert_eq!(store.get("k#1", now).await.unwrap(), Some(written));
}

async fn an_expired_item_not_yet_deleted_is_absent_everywhere(store: Arc<impl Store>) {
    let clock = clock();
    let now = clock.now();
    store.put(item("k#ttl", now, 100), Cond::Always, now).await.unwrap();
    clock.advance(101);
    let later = clock.now();
    assert_eq!(store.get("k#ttl", later).await.unwrap(), None, "get");
    let live = Cond::Live(vec![]);
    assert!(matches!(
        store.delete("k#ttl", live.clone(), later).await,
        Err(StoreError::ConditionFailed { current: None })
    ));
    let transaction = store.transact(vec![Op::Delete { pk: "k#ttl".into(), cond: live }.labelled("gone")], later).await;
    match transaction {
        Err(StoreError::Cancelled(cancelled)) => assert_eq!(cancelled.failed("gone"), Some(None)),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    store.put(item("k#ttl", later, 50), Cond::NotLive, later).await.expect("an expired item must not block NotLive");
    assert_eq!(store.get("k#ttl", later).await.unwrap().and_then(|i| i.expires_at()), Some(later + 50));
}

async fn an_expired_item_is_not_taken(store: Arc<impl Store>) {
    let clock = clock();
    let now = clock.now();
    store.put(item("k#take-expired", now, 100), Cond::Always, now).await.unwrap();
    clock.advance(100);
    assert_eq!(store.take("k#take-expired", None, clock.now()).await.unwrap(), None);
}

async fn a_take_leaves_an_item_with_its_unless_attribute_and_returns_it(store: Arc<impl Store + 'static>) {
    let clock = clock();
    let now = clock.now();
    let marker = item("k#marker", now, 100).with_s("request", "r");
    store.put(marker.clone(), Cond::Always, now).await.unwrap();
    let takers = (0..10).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.take("k#marker", Some("request"), now).await })
    });
    for result in futures_join(takers).await {
        assert_eq!(result.unwrap(), Some(marker.clone()), "every concurrent taker reads it");
    }
    assert_eq!(store.get("k#marker", now).await.unwrap(), Some(marker.clone()), "and it stays");
    store.put(item("k#plain", now, 100), Cond::Always, now).await.unwrap();
    assert!(store.take("k#plain", Some("request"), now).await.unwrap().is_some());
    assert_eq!(store.get("k#plain", now).await.unwrap(), None, "an item without it is taken");
    clock.advance(100);
    assert_eq!(store.take("k#marker", Some("request"), clock.now()).await.unwrap(), None, "an expired one is absent");
    assert_eq!(store.take("k#never", Some("request"), clock.now()).await.unwrap(), None);
}

async fn not_live_refuses_a_live_item_and_returns_it(store: Arc<impl Store>) {
    let now = clock().now();
    let first = item("k#flag", now, 180);
    store.put(first.clone(), Cond::NotLive, now).await.unwrap();
    match store.put(item("k#flag", now, 999), Cond::NotLive, now).await {
        Err(StoreError::ConditionFailed { current }) => assert_eq!(current, Some(first)),
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
}

async fn not_live_is_plain_absence_for_permanent_items(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(Item::new("user#alice").with_s("username", "alice"), Cond::NotLive, now).await.unwrap();
    let again = store.put(Item::new("user#alice").with_s("username", "bob"), Cond::NotLive, now + 1_000_000).await;
    assert!(matches!(again, Err(StoreError::ConditionFailed { current: Some(_) })));
}

async fn twenty_concurrent_creates_have_exactly_one_winner(store: Arc<impl Store + 'static>) {
    let now = clock().now();
    let attempts = (0..20).map(|n| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.put(item("k#race", now, 180).with_n("n", n), Cond::NotLive, now).await })
    });
    let results = futures_join(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let losses = results.iter().filter(|r| matches!(r, Err(StoreError::ConditionFailed { current: Some(_) }))).count();
    assert_eq!((wins, losses), (1, 19), "{results:?}");
}

async fn twenty_concurrent_takes_have_exactly_one_winner(store: Arc<impl Store + 'static>) {
    let now = clock().now();
    store.put(item("k#take", now, 300), Cond::Always, now).await.unwrap();
    let takers = (0..20).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.take("k#take", None, now).await })
    });
    let results = futures_join(takers).await;
    let taken: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok().cloned().flatten()).collect();
    assert_eq!(taken.len(), 1, "{results:?}");
    assert_eq!(taken[0].s("answer").unwrap(), "abcd");
    assert_eq!(store.get("k#take", now).await.unwrap(), None);
}

async fn a_transaction_with_one_failing_condition_writes_nothing_and_names_it(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#existing", now, 300), Cond::Always, now).await.unwrap();
    let writes = vec![
        Op::Put { item: item("k#new-a", now, 300), cond: Cond::NotLive }.labelled("a exists"),
        Op::Put { item: item("k#existing", now, 999), cond: Cond::NotLive }.labelled("existing exists"),
        Op::Delete { pk: "k#new-b".into(), cond: Cond::Always }.labelled("never fails"),
    ];
    match store.transact(writes, now).await {
        Err(StoreError::Cancelled(cancelled)) => {
            assert_eq!(cancelled.labels().collect::<Vec<_>>(), vec!["existing exists"]);
            assert_eq!(cancelled.failed("existing exists"), Some(Some(&item("k#existing", now, 300))));
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(store.get("k#new-a", now).await.unwrap(), None, "nothing may be written");
    assert_eq!(store.get("k#existing", now).await.unwrap(), Some(item("k#existing", now, 300)));
}

async fn a_transaction_names_the_same_refusals_in_any_order(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#order-flag", now, 300), Cond::Always, now).await.unwrap();
    store.put(Item::new("k#order-counter").with_n("count", 3).expiring_at(now + 60), Cond::Always, now).await.unwrap();
    let writes = || {
        vec![
            Op::Put { item: item("k#order-flag", now, 300), cond: Cond::NotLive }.labelled("flag held"),
            Op::Put { item: item("k#order-new", now, 300), cond: Cond::Always }.labelled("new"),
            Op::Add(Add {
                pk: "k#order-counter".into(),
                attribute: "count",
                by: 1,
                expires_at: Some(now + 60),
                cond: Cond::Below { attribute: "count", limit: 3 },
            })
            .labelled("counter full"),
        ]
    };
    let mut reversed = writes();
    reversed.reverse();
    for writes in [writes(), reversed] {
        match store.transact(writes, now).await {
            Err(StoreError::Cancelled(cancelled)) => {
                let mut labels: Vec<_> = cancelled.labels().collect();
                labels.sort();
                assert_eq!(labels, vec!["counter full", "flag held"]);
                assert_eq!(cancelled.failed("flag held"), Some(Some(&item("k#order-flag", now, 300))));
                assert_eq!(cancelled.failed("counter full").flatten().and_then(|c| c.n("count").ok()), Some(3));
                assert_eq!(cancelled.failed("new"), None);
            }
            other => panic!("expected Cancelled, got {other:?}"),
        }
    }
}

async fn a_condition_check_writes_nothing_and_gates_the_transaction(store: Arc<impl Store>) {
    let now = clock().now();
    let guarded = |cond| {
        vec![
            Op::Check { pk: "k#check-guard".into(), cond }.labelled("guard"),
            Op::Put { item: item("k#check-made", now, 300), cond: Cond::Always }.labelled("made"),
        ]
    };
    match store.transact(guarded(Cond::Present(vec![])), now).await {
        Err(StoreError::Cancelled(cancelled)) => assert_eq!(cancelled.failed("guard"), Some(None)),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(store.get("k#check-made", now).await.unwrap(), None);
    store.put(Item::new("k#check-guard").with_s("username", "alice"), Cond::Always, now).await.unwrap();
    store.transact(guarded(Cond::Present(vec![Check::eq_s("username", "alice")])), now).await.unwrap();
    assert!(store.get("k#check-made", now).await.unwrap().is_some());
    assert_eq!(store.get("k#check-guard", now).await.unwrap().unwrap().s("username").unwrap(), "alice");
}

async fn a_transaction_whose_conditions_hold_writes_everything(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#gone", now, 300), Cond::Always, now).await.unwrap();
    let writes = vec![
        Op::Delete { pk: "k#gone".into(), cond: Cond::Live(vec![Check::eq("answer", Value::S("abcd".into()))]) }
            .labelled("gone"),
        Op::Put { item: item("k#made", now, 300), cond: Cond::NotLive }.labelled("made"),
    ];
    store.transact(writes, now).await.unwrap();
    assert_eq!(store.get("k#gone", now).await.unwrap(), None);
    assert!(store.get("k#made", now).await.unwrap().is_some());
}

async fn a_live_condition_compares_attributes(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#cmp", now, 300), Cond::Always, now).await.unwrap();
    let wrong = Cond::Live(vec![Check::eq("answer", Value::S("wxyz".into()))]);
    assert!(matches!(store.delete("k#cmp", wrong, now).await, Err(StoreError::ConditionFailed { current: Some(_) })));
    let right = Cond::Live(vec![Check::eq("answer", Value::S("abcd".into())), Check::lt("attempts", 5)]);
    store.delete("k#cmp", right, now).await.unwrap();
    assert_eq!(store.get("k#cmp", now).await.unwrap(), None);
}

async fn add_counts_by_any_amount_until_its_condition_fails(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#inc", now, 300), Cond::Always, now).await.unwrap();
    let below_two = || Cond::Live(vec![Check::lt("attempts", 2)]);
    let add =
        |by| store.add(Add { pk: "k#inc".into(), attribute: "attempts", by, expires_at: None, cond: below_two() }, now);
    assert_eq!(add(1).await.unwrap().n("attempts").unwrap(), 1);
    assert_eq!(add(1).await.unwrap().n("attempts").unwrap(), 2);
    assert!(matches!(add(1).await, Err(StoreError::ConditionFailed { current: Some(_) })));
    let given_back = store
        .add(Add { pk: "k#inc".into(), attribute: "attempts", by: -2, expires_at: None, cond: Cond::Live(vec![]) }, now)
        .await
        .unwrap();
    assert_eq!((given_back.n("attempts").unwrap(), given_back.expires_at()), (0, Some(now + 300)));
}

async fn add_creates_a_counter_with_its_expiry_once(store: Arc<impl Store>) {
    let now = clock().now();
    let below = || Cond::Below { attribute: "count", limit: 10 };
    let first = store
        .add(
            Add { pk: "limit#single".into(), attribute: "count", by: 3, expires_at: Some(now + 60), cond: below() },
            now,
        )
        .await
        .unwrap();
    assert_eq!((first.n("count").unwrap(), first.expires_at()), (3, Some(now + 60)));
    let second = store
        .add(
            Add { pk: "limit#single".into(), attribute: "count", by: 1, expires_at: Some(now + 999), cond: below() },
            now,
        )
        .await
        .unwrap();
    assert_eq!((second.n("count").unwrap(), second.expires_at()), (4, Some(now + 60)));
}

async fn a_counter_starts_at_one_keeps_its_first_expiry_and_stops_at_its_limit(store: Arc<impl Store>) {
    let now = clock().now();
    let add = |by, expires_at: i64| {
        Op::Add(Add {
            pk: "limit#k".into(),
            attribute: "count",
            by,
            expires_at: Some(expires_at),
            cond: if by > 0 { Cond::Below { attribute: "count", limit: 2 } } else { Cond::Always },
        })
    };
    let count = |by| add(by, now + 60);
    store.transact(vec![count(1).labelled("full")], now).await.unwrap();
    store.transact(vec![add(1, now + 999).labelled("full")], now).await.unwrap();
    let item = store.get("limit#k", now).await.unwrap().unwrap();
    assert_eq!((item.n("count").unwrap(), item.expires_at()), (2, Some(now + 60)));
    match store.transact(vec![count(1).labelled("full")], now).await {
        Err(StoreError::Cancelled(cancelled)) => assert_eq!(cancelled.failed("full"), Some(Some(&item))),
        other => panic!("expected the limit to hold, got {other:?}"),
    }
    store.transact(vec![count(-1).labelled("full")], now).await.unwrap();
    assert_eq!(store.get("limit#k", now).await.unwrap().unwrap().n("count").unwrap(), 1);
}

async fn futures_join<T: std::fmt::Debug>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.unwrap());
    }
    results
}

on_both_stores!(
    an_absent_item_reads_as_none,
    a_put_item_reads_back_with_its_attributes,
    an_expired_item_not_yet_deleted_is_absent_everywhere,
    an_expired_item_is_not_taken,
    a_take_leaves_an_item_with_its_unless_attribute_and_returns_it,
    not_live_refuses_a_live_item_and_returns_it,
    not_live_is_plain_absence_for_permanent_items,
    twenty_concurrent_creates_have_exactly_one_winner,
    twenty_concurrent_takes_have_exactly_one_winner,
    a_transaction_with_one_failing_condition_writes_nothing_and_names_it,
    a_transaction_whose_conditions_hold_writes_everything,
    a_live_condition_compares_attributes,
    a_transaction_names_the_same_refusals_in_any_order,
    a_condition_check_writes_nothing_and_gates_the_transaction,
    add_counts_by_any_amount_until_its_condition_fails,
    add_creates_a_counter_with_its_expiry_once,
    a_counter_starts_at_one_keeps_its_first_expiry_and_stops_at_its_limit,
);

mod dynamodb_faults {
    use shared::store::{DynamoStore, Store, StoreError};
    use tests::faults::{FaultServer, closed_port_url, dynamodb_throttling};

    async fn store_at(endpoint: &str) -> DynamoStore {
        let config = tests::dynamo_client().await.config().to_builder().endpoint_url(endpoint).build();
        DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "any")
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_unavailable_not_a_panic() {
        let store = store_at(&closed_port_url()).await;
        assert!(matches!(store.get("k", 0).await, Err(StoreError::Unavailable(_))));
    }

    #[tokio::test]
    async fn throttling_is_retried_a_bounded_number_of_times_then_unavailable() {
        let provisioned = tests::faults::Canned {
            body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Exceeded"}"#
                .to_owned(),
            ..dynamodb_throttling()
        };
        for canned in [dynamodb_throttling(), provisioned] {
            let server = FaultServer::start(canned.clone()).await;
            let store = store_at(&server.url()).await;
            assert!(matches!(store.get("k", 0).await, Err(StoreError::Unavailable(_))), "{}", canned.body);
            assert_eq!(server.hits(), 3, "the SDK's standard retry makes three attempts: {}", canned.body);
        }
    }
}
