//! Tests of the file backend. Layout, durability mechanics and concurrency are checked on
//! a real folder; the shared contract runs through the conformance suite.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use vault_plugin_api::{Config, Error, Storage, StoragePlugin};

use crate::FileBackend;

thread_local! {
    /// Keeps the conformance suite's folder alive until the test's thread ends (after the
    /// suite), then removes it.
    static KEEP: RefCell<Vec<TempDir>> = const { RefCell::new(Vec::new()) };
}

vault_plugin_api::storage_conformance_tests!(FileBackend, || {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    // A folder that does not exist yet, so that `open` creates it.
    let config = config_for(&dir.path().join("data"));
    KEEP.with(|keep| keep.borrow_mut().push(dir));
    config
});

fn config_for(path: &Path) -> Config {
    Config::new([("path", path.to_str().expect("UTF-8 temporary path"))])
}

/// A backend on a fresh folder, `<tmp>/data`; `<tmp>` also holds `outside/` with a file in
/// it, to check that nothing escapes.
fn fresh() -> (TempDir, PathBuf, FileBackend) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("outside")).unwrap();
    fs::write(dir.path().join("outside/_secret"), "{\"Value\":\"eA==\"}").unwrap();
    let root = dir.path().join("data");
    let backend = FileBackend::open(config_for(&root)).unwrap();
    (dir, root, backend)
}

/// Every path under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_invalid_key(result: Result<impl std::fmt::Debug, Error>, needle: &str, what: &str) {
    match result {
        Err(Error::InvalidKey(message)) => {
            assert!(
                message.contains(needle),
                "{what}: {message:?} should mention {needle:?}"
            )
        }
        other => panic!("{what}: expected an invalid-key error, got {other:?}"),
    }
}

#[test]
fn path_is_required_and_not_empty() {
    for config in [
        Config::default(),
        Config::new([("path", "")]),
        Config::new([("path", "  ")]),
    ] {
        let err = FileBackend::open(config).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        assert_eq!(err.key(), Some("path"));
        assert!(err.to_string().starts_with("path: "), "{err}");
    }
}

#[test]
fn unknown_config_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let err = FileBackend::open(Config::new([("path", path), ("paht", "/x")])).unwrap_err();
    assert!(err.to_string().contains("unknown key \"paht\""), "{err}");
    assert!(err.to_string().contains("valid keys are: path"), "{err}");
}

#[test]
fn open_creates_missing_folders_with_mode_0700() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("x/y/data");
    FileBackend::open(config_for(&root)).unwrap();
    assert!(root.is_dir());
    assert_eq!(mode(&root), 0o700);
}

#[test]
fn open_refuses_a_path_that_is_not_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let err = FileBackend::open(config_for(&file)).unwrap_err();
    assert_eq!(err.key(), Some("path"));
    assert!(err.to_string().contains(file.to_str().unwrap()), "{err}");
    assert!(err.to_string().contains("not a folder"), "{err}");

    // A folder that cannot be created (its parent is a file).
    let below = file.join("data");
    let err = FileBackend::open(config_for(&below)).unwrap_err();
    assert!(err.to_string().contains(below.to_str().unwrap()), "{err}");
}

#[test]
fn layout_is_vaults() {
    let (_dir, root, s) = fresh();
    s.put("a/b/c", b"hello").unwrap();
    let file = root.join("a/b/_c");
    assert!(file.is_file());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&root.join("a")), 0o700);
    assert_eq!(mode(&root.join("a/b")), 0o700);
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        r#"{"Value":"aGVsbG8="}"#
    );
    assert_eq!(
        tree(&root),
        ["a", "a/b", "a/b/_c"],
        "no temporary file is left behind"
    );

    s.put("top", b"").unwrap();
    assert_eq!(
        fs::read_to_string(root.join("_top")).unwrap(),
        r#"{"Value":""}"#
    );
    // Directory names are kept as they are, even when they start with '_'.
    s.put("_d/e", b"\x00\xff").unwrap();
    assert_eq!(
        fs::read_to_string(root.join("_d/_e")).unwrap(),
        r#"{"Value":"AP8="}"#
    );
}

#[test]
fn files_written_by_vault_read_back() {
    let (_dir, root, s) = fresh();
    fs::create_dir_all(root.join("x/y")).unwrap();
    // What Vault's Go encoder writes: a trailing newline; a nil value is `null`.
    fs::write(root.join("x/y/_z"), "{\"Value\":\"c2VjcmV0LXZhbHVl\"}\n").unwrap();
    fs::write(root.join("x/_nil"), "{\"Value\":null}\n").unwrap();
    fs::write(root.join("_top"), "{\"Value\":\"aGk=\"}").unwrap();
    assert_eq!(
        s.get("x/y/z").unwrap().as_deref(),
        Some(&b"secret-value"[..])
    );
    assert_eq!(s.get("x/nil").unwrap().as_deref(), Some(&b""[..]));
    assert_eq!(s.get("top").unwrap().as_deref(), Some(&b"hi"[..]));
    assert_eq!(s.list("").unwrap(), ["top", "x/"]);
    assert_eq!(s.list("x/").unwrap(), ["nil", "y/"]);
    s.delete("x/y/z").unwrap();
    assert_eq!(s.list("x/").unwrap(), ["nil"]);
}

#[test]
fn keys_that_could_leave_the_folder_are_refused() {
    let (dir, root, s) = fresh();
    let cases = [
        ("", "empty key"),
        ("/a", "starts with '/'"),
        ("/", "ends with '/'"),
        ("a/", "ends with '/'"),
        ("a//b", "empty segment"),
        (".", "\".\" segment"),
        ("a/./b", "\".\" segment"),
        ("..", "\"..\" segment"),
        ("../outside/secret", "\"..\" segment"),
        ("a/../../outside/secret", "\"..\" segment"),
        ("a/..", "\"..\" segment"),
        ("a\0b", "NUL"),
        ("a/b\0/../c", "NUL"),
    ];
    for (key, needle) in cases {
        assert_invalid_key(s.put(key, b"v"), needle, &format!("put {key:?}"));
        assert_invalid_key(s.get(key), needle, &format!("get {key:?}"));
        assert_invalid_key(s.delete(key), needle, &format!("delete {key:?}"));
    }
    let prefixes = [
        ("a", "end with '/'"),
        ("/", "starts with '/'"),
        ("/a/", "starts with '/'"),
        ("a//", "empty segment"),
        ("../", "\"..\" segment"),
        ("a/../../", "\"..\" segment"),
        ("./", "\".\" segment"),
        ("a\0/", "NUL"),
    ];
    for (prefix, needle) in prefixes {
        assert_invalid_key(s.list(prefix), needle, &format!("list {prefix:?}"));
    }
    assert!(
        tree(&root).is_empty(),
        "nothing was created: {:?}",
        tree(&root)
    );
    assert_eq!(tree(&dir.path().join("outside")), ["_secret"]);
}

#[test]
fn over_long_keys_are_invalid_not_panics() {
    let (_dir, root, s) = fresh();
    let long = "x".repeat(300);
    let keys = [
        long.clone(),
        format!("{long}/k"),
        format!("a/{long}"),
        // Fits NAME_MAX, but not with the '_' prefix.
        "y".repeat(255),
        // Every segment fits, the whole path does not (PATH_MAX): only the file system
        // can tell, after some folders were created.
        vec!["z".repeat(250); 20].join("/"),
    ];
    for key in &keys {
        let what = format!("key of {} bytes", key.len());
        assert_invalid_key(s.put(key, b"v"), "too long", &format!("put {what}"));
        assert_invalid_key(s.get(key), "", &format!("get {what}"));
        assert_invalid_key(s.delete(key), "", &format!("delete {what}"));
        assert!(
            tree(&root).is_empty(),
            "a failed put leaves nothing behind ({what})"
        );
    }
    let long_prefix = format!("{}/", vec!["z".repeat(250); 20].join("/"));
    assert_invalid_key(s.list(&long_prefix), "too long", "list of a long prefix");
    assert_invalid_key(
        s.list(&format!("{long}/")),
        "bytes",
        "list of a long segment",
    );

    // The longest name that fits works.
    let longest = "w".repeat(254);
    s.put(&longest, b"v").unwrap();
    assert_eq!(s.get(&longest).unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(s.list("").unwrap(), [longest]);
}

#[test]
fn delete_prunes_emptied_parents_but_not_the_root() {
    let (_dir, root, s) = fresh();
    s.put("p/q/r/k", b"v").unwrap();
    s.put("p/other", b"v").unwrap();
    s.put("top", b"v").unwrap();

    s.delete("p/q/r/k").unwrap();
    assert_eq!(
        tree(&root),
        ["_top", "p", "p/_other"],
        "p/q/r and p/q are pruned, p is not"
    );
    s.delete("p/other").unwrap();
    assert_eq!(tree(&root), ["_top"]);
    s.delete("top").unwrap();
    assert!(root.is_dir(), "the root folder itself is never removed");
    assert!(tree(&root).is_empty());

    // Deleting a missing key, under a missing folder or through a file, is fine.
    s.delete("p/q/r/k").unwrap();
    s.put("f", b"v").unwrap();
    s.delete("_f/x").unwrap();
    assert_eq!(tree(&root), ["_f"]);
}

#[test]
fn delete_keeps_folders_that_still_hold_something() {
    let (_dir, root, s) = fresh();
    s.put("a/b/k1", b"v").unwrap();
    s.put("a/b/c/k2", b"v").unwrap();
    s.delete("a/b/k1").unwrap();
    assert_eq!(tree(&root), ["a", "a/b", "a/b/c", "a/b/c/_k2"]);
    // A stray file an operator left keeps its folder too (pruning never deletes files).
    fs::write(root.join("a/b/c/notes.txt"), "mine").unwrap();
    s.delete("a/b/c/k2").unwrap();
    assert_eq!(tree(&root), ["a", "a/b", "a/b/c", "a/b/c/notes.txt"]);
    assert!(
        s.list("a/").unwrap().is_empty(),
        "a folder without keys is not listed"
    );
}

#[test]
fn temporary_and_foreign_files_are_never_listed() {
    let (_dir, root, s) = fresh();
    s.put("t/a", b"v").unwrap();
    s.put("t/keep/b", b"v").unwrap();
    // What a crash can leave: a temporary file, a folder holding only one, empty folders.
    fs::write(
        root.join("t/.tmp-123-0-00000000deadbeef.tmp"),
        "{\"Value\":\"eA==\"}",
    )
    .unwrap();
    fs::create_dir_all(root.join("t/crashed")).unwrap();
    fs::write(root.join("t/crashed/.tmp-9-9-0000000000000001.tmp"), "").unwrap();
    fs::create_dir_all(root.join("t/empty/chain/of/folders")).unwrap();
    // Files that are not a key's: no '_' prefix, or nothing after it.
    fs::write(root.join("t/README"), "").unwrap();
    fs::write(root.join("t/_"), "").unwrap();
    assert_eq!(s.list("t/").unwrap(), ["a", "keep/"]);
    assert!(s.list("t/crashed/").unwrap().is_empty());
    assert_eq!(s.list("").unwrap(), ["t/"]);

    // Sequential overwrites keep one spare file (the old value's, reused by the next
    // put), and closing the backend removes it.
    for i in 0..20 {
        s.put("t/a", format!("value {i}").as_bytes()).unwrap();
    }
    let own_temps = || -> Vec<String> {
        tree(&root)
            .into_iter()
            .filter(|p| p.ends_with(".tmp") && !p.contains("123-0") && !p.contains("9-9"))
            .collect()
    };
    assert_eq!(own_temps().len(), 1, "{:?}", own_temps());
    assert_eq!(s.get("t/a").unwrap().as_deref(), Some(&b"value 19"[..]));
    drop(s);
    assert!(own_temps().is_empty(), "{:?}", own_temps());
}

#[test]
fn corrupt_files_are_io_errors_naming_the_key() {
    let (_dir, root, s) = fresh();
    fs::create_dir(root.join("bad")).unwrap();
    let cases: [(&str, &[u8]); 7] = [
        ("empty", b""),
        ("json", b"{\"Value\":\"c2VjcmV0"),
        ("plain", b"topsecret"),
        ("array", b"[\"topsecret\"]"),
        ("nofield", b"{\"Key\":\"topsecret\"}"),
        ("number", b"{\"Value\":7}"),
        ("base64", b"{\"Value\":\"topsecret!\"}"),
    ];
    for (name, content) in cases {
        fs::write(root.join("bad").join(format!("_{name}")), content).unwrap();
        let key = format!("bad/{name}");
        match s.get(&key) {
            Err(Error::Io(message)) => {
                assert!(message.contains(&format!("{key:?}")), "{message}");
                assert!(message.contains("corrupt"), "{message}");
                assert!(
                    !message.contains("topsecret") && !message.contains("c2VjcmV0"),
                    "{message}"
                );
            }
            other => panic!("{key}: expected an I/O error, got {other:?}"),
        }
    }
    // The listing still works, and a corrupt value can be overwritten or deleted.
    assert_eq!(s.list("bad/").unwrap().len(), cases.len());
    s.put("bad/json", b"fixed").unwrap();
    assert_eq!(s.get("bad/json").unwrap().as_deref(), Some(&b"fixed"[..]));
    s.delete("bad/plain").unwrap();
    assert_eq!(s.get("bad/plain").unwrap(), None);
}

#[test]
fn unreadable_files_are_io_errors() {
    let (_dir, root, s) = fresh();
    s.put("locked/k", b"v").unwrap();
    let file = root.join("locked/_k");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
    // root (as in some containers) reads the file regardless; check only when it cannot.
    if fs::read(&file).is_err() {
        match s.get("locked/k") {
            Err(Error::Io(message)) => assert!(message.contains("\"locked/k\""), "{message}"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn reopening_reads_earlier_values() {
    let (_dir, root, s) = fresh();
    s.put("core/keyring", b"ring").unwrap();
    s.put("logical/1234/app/db", &[0, 1, 2, 255]).unwrap();
    s.put("core/gone", b"x").unwrap();
    s.delete("core/gone").unwrap();
    drop(s);

    let s = FileBackend::open(config_for(&root)).unwrap();
    assert_eq!(
        s.get("core/keyring").unwrap().as_deref(),
        Some(&b"ring"[..])
    );
    assert_eq!(
        s.get("logical/1234/app/db").unwrap(),
        Some(vec![0, 1, 2, 255])
    );
    assert_eq!(s.get("core/gone").unwrap(), None);
    assert_eq!(s.list("").unwrap(), ["core/", "logical/"]);
    s.put("core/keyring", b"ring2").unwrap();
    assert_eq!(
        s.get("core/keyring").unwrap().as_deref(),
        Some(&b"ring2"[..])
    );
}

#[test]
fn a_key_and_a_folder_that_share_a_file_name_collide_clearly() {
    let (_dir, root, s) = fresh();
    // Key "c/b" is the file c/_b, so no folder c/_b can hold keys under "c/_b/".
    s.put("c/b", b"first").unwrap();
    assert_invalid_key(
        s.put("c/_b/x", b"topsecret"),
        "is a file on disk",
        "put under a file",
    );
    assert_eq!(s.get("c/_b/x").unwrap(), None);
    s.delete("c/_b/x").unwrap();
    assert!(s.list("c/_b/").unwrap().is_empty());
    assert_eq!(s.get("c/b").unwrap().as_deref(), Some(&b"first"[..]));

    // And the other way round: folder d/_b holds "d/_b/x", so key "d/b" cannot be stored.
    s.put("d/_b/x", b"v").unwrap();
    let err = s.put("d/b", b"topsecret").unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
    assert!(err.to_string().contains("is a folder on disk"), "{err}");
    assert!(!err.to_string().contains("topsecret"), "{err}");
    assert_eq!(s.get("d/b").unwrap(), None, "a folder is not a value");
    s.delete("d/b").unwrap();
    assert_eq!(s.list("d/").unwrap(), ["_b/"]);
    assert_eq!(s.get("d/_b/x").unwrap().as_deref(), Some(&b"v"[..]));

    assert_eq!(
        tree(&root),
        ["c", "c/_b", "d", "d/_b", "d/_b/_x"],
        "no temporary files left"
    );
}

#[test]
fn listing_a_key_or_a_missing_folder_is_empty() {
    let (_dir, _root, s) = fresh();
    s.put("f/a", b"v").unwrap();
    assert!(s.list("f/a/").unwrap().is_empty());
    assert!(s.list("f/a/deeper/").unwrap().is_empty());
    assert!(s.list("nothing/here/").unwrap().is_empty());
    assert_eq!(s.list("f/").unwrap(), ["a"]);
}

#[test]
fn list_is_in_byte_order() {
    let (_dir, _root, s) = fresh();
    for key in [
        "o/b", "o/B", "o/a-b", "o/a", "o/a/x", "o/é", "o/z", "o/_u", "o/_u/v",
    ] {
        s.put(key, b"v").unwrap();
    }
    assert_eq!(
        s.list("o/").unwrap(),
        ["B", "_u", "_u/", "a", "a-b", "a/", "b", "z", "é"]
    );
}

#[test]
fn concurrent_puts_and_deletes_in_shared_folders() {
    let (_dir, root, s) = fresh();
    const THREADS: usize = 6;
    const ROUNDS: usize = 60;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let s = &s;
            scope.spawn(move || {
                for i in 0..ROUNDS {
                    // Every thread works in the same few folders, so folders are pruned
                    // and re-created under each other's feet.
                    let key = format!("shared/{}/deep/k{t}", i % 3);
                    let value = format!("{t}:{i}");
                    s.put(&key, value.as_bytes())
                        .unwrap_or_else(|e| panic!("put {key}: {e}"));
                    assert_eq!(
                        s.get(&key).unwrap().as_deref(),
                        Some(value.as_bytes()),
                        "{key}"
                    );
                    s.list("shared/").unwrap_or_else(|e| panic!("list: {e}"));
                    s.list(&format!("shared/{}/deep/", i % 3)).unwrap();
                    s.delete(&key)
                        .unwrap_or_else(|e| panic!("delete {key}: {e}"));
                    assert_eq!(s.get(&key).unwrap(), None, "{key}");
                }
                // Leave one key per thread, in one shared folder.
                s.put(&format!("shared/last/k{t}"), b"v").unwrap();
            });
        }
    });
    assert_eq!(s.list("shared/").unwrap(), ["last/"]);
    assert_eq!(s.list("shared/last/").unwrap().len(), THREADS);
    let mut expected = vec!["shared".to_string(), "shared/last".to_string()];
    expected.extend((0..THREADS).map(|t| format!("shared/last/_k{t}")));
    expected.sort();
    assert_eq!(
        tree(&root),
        expected,
        "every emptied folder is pruned, no temporary file left"
    );
}

#[test]
fn overwrites_reuse_spare_files_and_deletes_still_prune() {
    let (_dir, root, s) = fresh();
    for i in 0..5 {
        s.put("f/g/k", format!("v{i}").as_bytes()).unwrap();
    }
    s.put("f/other", b"o").unwrap();
    let spares = |root: &Path| tree(root).iter().filter(|p| p.ends_with(".tmp")).count();
    assert_eq!(spares(&root), 1, "{:?}", tree(&root));
    // The folder holds only a spare once its key is gone: it is pruned all the same.
    s.delete("f/g/k").unwrap();
    assert_eq!(tree(&root), ["f", "f/_other"]);
    assert_eq!(s.list("f/").unwrap(), ["other"]);

    // A spare removed by hand is not missed: the next put makes a fresh file.
    s.put("f/other", b"o2").unwrap();
    let spare = tree(&root)
        .into_iter()
        .find(|p| p.ends_with(".tmp"))
        .unwrap();
    fs::remove_file(root.join(spare)).unwrap();
    s.put("f/other", b"o3").unwrap();
    assert_eq!(s.get("f/other").unwrap().as_deref(), Some(&b"o3"[..]));
    // A spare replaced by a link to another file is not written through.
    let spare = tree(&root)
        .into_iter()
        .find(|p| p.ends_with(".tmp"))
        .unwrap();
    fs::remove_file(root.join(&spare)).unwrap();
    fs::write(root.join("victim"), b"untouched").unwrap();
    std::os::unix::fs::symlink(root.join("victim"), root.join(&spare)).unwrap();
    s.put("f/other", b"o4").unwrap();
    assert_eq!(fs::read(root.join("victim")).unwrap(), b"untouched");
    assert_eq!(s.get("f/other").unwrap().as_deref(), Some(&b"o4"[..]));
}

#[test]
fn concurrent_overwrites_of_one_key_end_with_one_of_the_values() {
    let (_dir, root, s) = fresh();
    const THREADS: usize = 8;
    const ROUNDS: usize = 40;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let s = &s;
            scope.spawn(move || {
                for i in 0..ROUNDS {
                    s.put("hot/key", format!("{t}:{i}").as_bytes()).unwrap();
                    s.put(&format!("hot/own{t}"), format!("{i}").as_bytes())
                        .unwrap();
                    // A thread's own key always reads back its last write.
                    assert_eq!(
                        s.get(&format!("hot/own{t}")).unwrap(),
                        Some(format!("{i}").into_bytes())
                    );
                }
            });
        }
    });
    let last = String::from_utf8(s.get("hot/key").unwrap().unwrap()).unwrap();
    assert!(last.ends_with(&format!(":{}", ROUNDS - 1)), "{last}");
    let keys = tree(&root).iter().filter(|p| !p.ends_with(".tmp")).count();
    assert_eq!(keys, 1 + 1 + THREADS, "{:?}", tree(&root));
    drop(s);
    assert!(!tree(&root).iter().any(|p| p.ends_with(".tmp")));
}

#[test]
fn after_a_failed_fsync_writes_are_refused_and_reads_go_on() {
    let (_dir, _root, s) = fresh();
    s.put("k", b"v").unwrap();
    // What a failed fsync records (the kernel gives no way to make one fail on demand).
    s.failure
        .set("Input/output error (os error 5)".into())
        .unwrap();
    for err in [s.put("k", b"w").unwrap_err(), s.delete("k").unwrap_err()] {
        assert!(matches!(err, Error::Io(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("earlier fsync") && text.contains("restart"),
            "{text}"
        );
    }
    assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(s.list("").unwrap(), ["k"]);
}

#[test]
fn reused_spares_never_keep_a_longer_old_tail() {
    let (_dir, root, s) = fresh();
    // Spares are rewritten in place: values of every length, in an order that makes each
    // put reuse a file that held a longer, shorter or equal value.
    let lengths = [300usize, 5, 300, 300, 0, 7000, 1, 64, 65, 64];
    for (i, len) in lengths.iter().enumerate() {
        let value = vec![b'a' + (i as u8); *len];
        s.put("r/k", &value).unwrap();
        assert_eq!(s.get("r/k").unwrap(), Some(value.clone()), "put {i}");
        let on_disk = fs::read(root.join("r/_k")).unwrap();
        assert_eq!(
            crate::entry::decode(&on_disk).unwrap(),
            value,
            "file of put {i}"
        );
    }
}
