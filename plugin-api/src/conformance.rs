//! The storage conformance suite: one contract, every backend.
//!
//! Run it against your backend in one line, in-process through the same vtable a loaded
//! plugin uses:
//!
//! ```ignore
//! vault_plugin_api::storage_conformance_tests!(MyBackend, || my_test_config());
//! ```
//!
//! or call [`run`] on any [`StorageHandle`] (the host runs it on the real `.so` files).
//! Every check panics with a message naming the rule that was broken. The suite expects an
//! empty backend and leaves data behind.

use crate::host::StorageHandle;
use crate::Error;
// abi-1.1: begin
use crate::TxnOp;
// abi-1.1: end

/// Runs every check, in order.
pub fn run(storage: &StorageHandle) {
    missing_key_is_none(storage);
    put_then_get(storage);
    put_overwrites(storage);
    delete_is_idempotent(storage);
    values_are_bytes(storage);
    keys_are_utf8_with_odd_characters(storage);
    list_gives_sorted_direct_children(storage);
    list_of_empty_prefix_is_empty(storage);
    delete_prunes_folders_from_listing(storage);
    concurrent_writers(storage);
    // abi-1.1: begin
    transactions_if_supported(storage);
    // abi-1.1: end
    // abi-1.2: begin
    ha_lock_if_supported(storage);
    // abi-1.2: end
}

fn expect<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what} failed: {e}"),
    }
}

/// `get` of a key never written is `None`, not an error.
pub fn missing_key_is_none(s: &StorageHandle) {
    assert_eq!(
        expect(s.get("conf/missing"), "get missing"),
        None,
        "a missing key must read as None"
    );
}

/// A value written is read back unchanged.
pub fn put_then_get(s: &StorageHandle) {
    expect(s.put("conf/a", b"alpha"), "put");
    assert_eq!(
        expect(s.get("conf/a"), "get").as_deref(),
        Some(&b"alpha"[..])
    );
}

/// `put` on an existing key replaces its value, including by a shorter one.
pub fn put_overwrites(s: &StorageHandle) {
    expect(s.put("conf/over", b"a much longer first value"), "put");
    expect(s.put("conf/over", b"short"), "overwrite");
    assert_eq!(
        expect(s.get("conf/over"), "get").as_deref(),
        Some(&b"short"[..])
    );
}

/// Deleting removes the value; deleting again (or a key never written) is fine.
pub fn delete_is_idempotent(s: &StorageHandle) {
    expect(s.put("conf/del", b"x"), "put");
    expect(s.delete("conf/del"), "delete");
    assert_eq!(expect(s.get("conf/del"), "get after delete"), None);
    expect(s.delete("conf/del"), "second delete");
    expect(s.delete("conf/never-written"), "delete of a missing key");
}

/// Empty values, every byte value, and a 1 MiB value round-trip.
pub fn values_are_bytes(s: &StorageHandle) {
    expect(s.put("conf/empty", b""), "put empty");
    assert_eq!(
        expect(s.get("conf/empty"), "get empty").as_deref(),
        Some(&b""[..]),
        "an empty value is not a missing one"
    );
    let all: Vec<u8> = (0..=255u8).collect();
    expect(s.put("conf/bytes", &all), "put bytes");
    assert_eq!(expect(s.get("conf/bytes"), "get bytes"), Some(all));
    let medium: Vec<u8> = (0..(256 << 10)).map(|i| (i % 253) as u8).collect();
    expect(s.put("conf/medium", &medium), "put 256 KiB");
    assert_eq!(expect(s.get("conf/medium"), "get 256 KiB"), Some(medium));
    // A backend may cap value sizes (Consul holds at most 512 KiB), but only by refusing
    // the put with `TooLarge` and storing nothing.
    let big: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    match s.put("conf/big", &big) {
        Ok(()) => assert_eq!(expect(s.get("conf/big"), "get 1 MiB"), Some(big)),
        Err(Error::TooLarge(_)) => assert_eq!(
            expect(s.get("conf/big"), "get after a refused put"),
            None,
            "a put refused as too large must store nothing"
        ),
        Err(e) => panic!("conformance: put 1 MiB failed: {e} (a size limit must be TooLarge)"),
    }
}

/// Keys may hold spaces, non-ASCII letters, and punctuation Vault paths use.
pub fn keys_are_utf8_with_odd_characters(s: &StorageHandle) {
    for key in [
        "odd/with space",
        "odd/café",
        "odd/colon:star*q",
        "odd/dash-dot.under_score",
    ] {
        expect(s.put(key, key.as_bytes()), "put odd key");
        assert_eq!(
            expect(s.get(key), "get odd key").as_deref(),
            Some(key.as_bytes()),
            "key {key:?}"
        );
    }
    let mut names = expect(s.list("odd/"), "list odd/");
    names.sort();
    assert_eq!(
        names,
        ["café", "colon:star*q", "dash-dot.under_score", "with space"]
    );
}

/// `list` returns direct children, relative, sorted; folders once with a trailing `/`.
pub fn list_gives_sorted_direct_children(s: &StorageHandle) {
    for key in [
        "tree/b",
        "tree/a",
        "tree/c/d",
        "tree/c/e/f",
        "tree/c",
        "tree/z/y",
    ] {
        expect(s.put(key, b"v"), "put");
    }
    assert_eq!(
        expect(s.list("tree/"), "list tree/"),
        ["a", "b", "c", "c/", "z/"]
    );
    assert_eq!(expect(s.list("tree/c/"), "list tree/c/"), ["d", "e/"]);
    let root = expect(s.list(""), "list root");
    assert!(
        root.contains(&"tree/".to_string()),
        "root listing {root:?} must hold \"tree/\""
    );
    assert!(
        root.windows(2).all(|w| w[0] < w[1]),
        "root listing {root:?} must be sorted and unique"
    );
}

/// A prefix with nothing under it lists as empty.
pub fn list_of_empty_prefix_is_empty(s: &StorageHandle) {
    assert!(expect(s.list("nothing-here/"), "list empty").is_empty());
}

/// Once the last key under a folder is deleted, the folder leaves its parent's listing.
pub fn delete_prunes_folders_from_listing(s: &StorageHandle) {
    expect(s.put("prune/deep/er/key", b"v"), "put");
    assert_eq!(expect(s.list("prune/"), "list"), ["deep/"]);
    expect(s.delete("prune/deep/er/key"), "delete");
    assert!(
        expect(s.list("prune/"), "list after delete").is_empty(),
        "emptied folders must not be listed"
    );
    assert!(!expect(s.list(""), "root").contains(&"prune/".to_string()));
}

/// Four threads writing and reading their own keys see their own writes.
pub fn concurrent_writers(s: &StorageHandle) {
    std::thread::scope(|scope| {
        for t in 0..4 {
            scope.spawn(move || {
                for i in 0..50 {
                    let key = format!("conc/{t}/{i}");
                    let value = format!("{t}-{i}");
                    expect(s.put(&key, value.as_bytes()), "concurrent put");
                    assert_eq!(
                        expect(s.get(&key), "concurrent get"),
                        Some(value.into_bytes())
                    );
                }
            });
        }
    });
    assert_eq!(expect(s.list("conc/"), "list"), ["0/", "1/", "2/", "3/"]);
    assert_eq!(expect(s.list("conc/2/"), "list").len(), 50);
}

// abi-1.1: begin
/// When the backend has transactions, a batch applies in order and entirely.
pub fn transactions_if_supported(s: &StorageHandle) {
    let Some(txn) = expect(s.transactions(), "transactions ability") else {
        return;
    };
    assert!(
        txn.max_operations() >= 1,
        "max_operations must be at least 1"
    );
    expect(s.put("txn/gone", b"x"), "put");
    let ops = vec![
        TxnOp::Put {
            key: "txn/a".into(),
            value: b"1".to_vec(),
        },
        TxnOp::Put {
            key: "txn/a".into(),
            value: b"2".to_vec(),
        },
        TxnOp::Delete {
            key: "txn/gone".into(),
        },
        TxnOp::Put {
            key: "txn/b".into(),
            value: b"3".to_vec(),
        },
    ];
    expect(txn.transact(ops), "transact");
    assert_eq!(
        expect(s.get("txn/a"), "get").as_deref(),
        Some(&b"2"[..]),
        "operations apply in order"
    );
    assert_eq!(expect(s.get("txn/gone"), "get"), None);
    assert_eq!(expect(s.list("txn/"), "list"), ["a", "b"]);
}
// abi-1.1: end

// abi-1.2: begin
/// When the backend has the HA lock ability: a free lock is acquired with its value, a
/// second holder is kept out until the first unlocks, and writes go on while it is held.
pub fn ha_lock_if_supported(s: &StorageHandle) {
    use std::time::Duration;
    let Some(locks) = expect(s.ha_lock(), "HA lock ability") else {
        return;
    };
    let key = "conf-lock/lock";
    assert_eq!(
        expect(locks.holder(key), "holder of a free lock"),
        None,
        "nobody holds a lock never taken"
    );
    let first = expect(locks.lock(key, b"node-a", Duration::from_secs(60)), "lock")
        .expect("a free lock is acquired well within 60 s");
    assert!(!first.is_lost(), "a freshly acquired lock is held");
    assert_eq!(
        expect(locks.holder(key), "holder").as_deref(),
        Some(&b"node-a"[..]),
        "holder() gives the holder's value"
    );
    assert!(
        expect(
            locks.lock(key, b"node-b", Duration::from_millis(300)),
            "second lock"
        )
        .is_none(),
        "a held lock is exclusive: a second lock() times out"
    );
    expect(
        s.put("conf-lock/data", b"while held"),
        "put while holding the lock",
    );
    assert_eq!(
        expect(s.get("conf-lock/data"), "get").as_deref(),
        Some(&b"while held"[..])
    );
    assert!(!first.wait_lost(Duration::from_millis(10)));
    expect(first.unlock(), "unlock");
    assert!(first.is_lost(), "an unlocked lock is no longer held");
    expect(first.unlock(), "a second unlock");
    assert_eq!(expect(locks.holder(key), "holder after unlock"), None);
    let second = expect(
        locks.lock(key, b"node-b", Duration::from_secs(60)),
        "relock",
    )
    .expect("an unlocked lock is acquired again well within 60 s");
    assert_eq!(
        expect(locks.holder(key), "holder").as_deref(),
        Some(&b"node-b"[..])
    );
    drop(second);
    assert_eq!(
        expect(locks.holder(key), "holder after drop"),
        None,
        "dropping a held lock releases it"
    );
}
// abi-1.2: end
