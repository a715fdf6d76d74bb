//! The store contract, run on MemoryStore and on DynamoDB Local alike:
//! liveness and TTL lag, conditional writes, take, transactions, races.

use shared::clock::{Clock, ManualClock};
use shared::store::{CancelReason, Check, Cond, Item, Op, Store, StoreError, Value};
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
    let transaction = store.transact(vec![Op::Delete { pk: "k#ttl".into(), cond: live }], later).await;
    assert!(
        matches!(transaction, Err(StoreError::Cancelled { ref reasons }) if reasons == &[CancelReason::ConditionFailed { current: None }])
    );
    store.put(item("k#ttl", later, 50), Cond::NotLive, later).await.expect("an expired item must not block NotLive");
    assert_eq!(store.get("k#ttl", later).await.unwrap().and_then(|i| i.expires_at()), Some(later + 50));
}

async fn an_expired_item_is_not_taken(store: Arc<impl Store>) {
    let clock = clock();
    let now = clock.now();
    store.put(item("k#take-expired", now, 100), Cond::Always, now).await.unwrap();
    clock.advance(100);
    assert_eq!(store.take("k#take-expired", clock.now()).await.unwrap(), None);
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
        tokio::spawn(async move { store.take("k#take", now).await })
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
    let ops = vec![
        Op::Put { item: item("k#new-a", now, 300), cond: Cond::NotLive },
        Op::Put { item: item("k#existing", now, 999), cond: Cond::NotLive },
        Op::Delete { pk: "k#new-b".into(), cond: Cond::Always },
    ];
    match store.transact(ops, now).await {
        Err(StoreError::Cancelled { reasons }) => {
            assert_eq!(reasons.len(), 3);
            assert_eq!(reasons[0], CancelReason::Passed);
            assert_eq!(reasons[1], CancelReason::ConditionFailed { current: Some(item("k#existing", now, 300)) });
            assert_eq!(reasons[2], CancelReason::Passed);
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(store.get("k#new-a", now).await.unwrap(), None, "nothing may be written");
    assert_eq!(store.get("k#existing", now).await.unwrap(), Some(item("k#existing", now, 300)));
}

async fn a_transaction_whose_conditions_hold_writes_everything(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#gone", now, 300), Cond::Always, now).await.unwrap();
    let ops = vec![
        Op::Delete { pk: "k#gone".into(), cond: Cond::Live(vec![Check::eq("answer", Value::S("abcd".into()))]) },
        Op::Put { item: item("k#made", now, 300), cond: Cond::NotLive },
    ];
    store.transact(ops, now).await.unwrap();
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

async fn increment_adds_one_until_its_condition_fails(store: Arc<impl Store>) {
    let now = clock().now();
    store.put(item("k#inc", now, 300), Cond::Always, now).await.unwrap();
    let below_two = || Cond::Live(vec![Check::lt("attempts", 2)]);
    assert_eq!(store.increment("k#inc", "attempts", below_two(), now).await.unwrap().n("attempts").unwrap(), 1);
    assert_eq!(store.increment("k#inc", "attempts", below_two(), now).await.unwrap().n("attempts").unwrap(), 2);
    assert!(matches!(
        store.increment("k#inc", "attempts", below_two(), now).await,
        Err(StoreError::ConditionFailed { current: Some(_) })
    ));
}

async fn a_counter_starts_at_one_keeps_its_first_expiry_and_stops_at_its_limit(store: Arc<impl Store>) {
    let now = clock().now();
    let add = |by, expires_at| Op::Add {
        pk: "limit#k".into(),
        attribute: "count",
        by,
        expires_at,
        cond: if by > 0 { Cond::Below { attribute: "count", limit: 2 } } else { Cond::Always },
    };
    let count = |by| add(by, now + 60);
    store.transact(vec![count(1)], now).await.unwrap();
    store.transact(vec![add(1, now + 999)], now).await.unwrap();
    let item = store.get("limit#k", now).await.unwrap().unwrap();
    assert_eq!((item.n("count").unwrap(), item.expires_at()), (2, Some(now + 60)));
    match store.transact(vec![count(1)], now).await {
        Err(StoreError::Cancelled { reasons }) => {
            assert_eq!(reasons, vec![CancelReason::ConditionFailed { current: Some(item.clone()) }]);
        }
        other => panic!("expected the limit to hold, got {other:?}"),
    }
    store.transact(vec![count(-1)], now).await.unwrap();
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
    not_live_refuses_a_live_item_and_returns_it,
    not_live_is_plain_absence_for_permanent_items,
    twenty_concurrent_creates_have_exactly_one_winner,
    twenty_concurrent_takes_have_exactly_one_winner,
    a_transaction_with_one_failing_condition_writes_nothing_and_names_it,
    a_transaction_whose_conditions_hold_writes_everything,
    a_live_condition_compares_attributes,
    increment_adds_one_until_its_condition_fails,
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
