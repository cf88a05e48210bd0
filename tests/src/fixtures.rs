//! Builds the ABI fixture plugins: `tests/fixtures/abi-plugin` compiled against copies of
//! `plugin-api` that stand for other releases of the ABI.
//!
//! | variant   | plugin-api copy                                              | expected by the host |
//! |-----------|--------------------------------------------------------------|----------------------|
//! | `current` | unchanged (1.2)                                              | loads, has every ability |
//! | `v1_1`    | 1.1: every `// abi-1.2: begin`…`end` block removed           | loads; transactions present, HA lock absent |
//! | `legacy`  | 1.0: every `// abi-1.1` and `// abi-1.2` block removed       | loads; transactions and HA lock absent |
//! | `future`  | version 1.3                                                  | refused: newer minor |
//! | `major`   | version 2.0                                                  | refused: major mismatch |
//! | `changed` | 1.2 with a field added to a frozen type                      | refused: layout mismatch |
//!
//! The same blocks are removed from the fixture plugin's own source, so the 1.0 and 1.1
//! builds implement exactly the abilities their ABI has (the current one implements all).
//!
//! Each variant is its own little workspace under `target/abi-fixtures/`, sharing one
//! target folder there (the compiled dependencies are reused; the cdylib names differ, so
//! no stale file is mistaken for a fresh one). Sources are rewritten only when they change,
//! so a second run is an incremental no-op.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{build, workspace_root};

/// The built fixture libraries.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// Built against the current ABI.
    pub current: PathBuf,
    /// Built against ABI 1.1 (transactions, no HA lock).
    pub v1_1: PathBuf,
    /// Built against ABI 1.0.
    pub legacy: PathBuf,
    /// Built against ABI 1.3.
    pub future: PathBuf,
    /// Built against ABI 2.0.
    pub major: PathBuf,
    /// Built against a 1.2 whose frozen layout was changed.
    pub changed: PathBuf,
}

/// Builds (once per process) and returns the fixtures.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| Fixtures {
        current: build_variant("current", "1.2.0", &|s| s.to_string()),
        v1_1: build_variant("v1_1", "1.1.0", &strip_abi_1_2),
        legacy: build_variant("legacy", "1.0.0", &|s| strip_abi_1_1(&strip_abi_1_2(s))),
        future: build_variant("future", "1.3.0", &|s| s.to_string()),
        major: build_variant("major", "2.0.0", &|s| s.to_string()),
        changed: build_variant("changed", "1.2.0", &change_frozen_layout),
    })
}

/// Removes every block added in ABI 1.1 (apply [`strip_abi_1_2`] first for the 1.0 API).
pub fn strip_abi_1_1(source: &str) -> String {
    strip_blocks(source, "1.1")
}

/// Removes every block added in ABI 1.2, leaving the 1.1 API.
pub fn strip_abi_1_2(source: &str) -> String {
    strip_blocks(source, "1.2")
}

/// Removes the lines from each `// abi-VERSION: begin` to its `// abi-VERSION: end`,
/// markers included. Panics on an unbalanced marker, so a typo cannot go unnoticed.
fn strip_blocks(source: &str, version: &str) -> String {
    let begin = format!("// abi-{version}: begin");
    let end = format!("// abi-{version}: end");
    let mut out = String::new();
    let mut skipping = false;
    for line in source.lines() {
        let trimmed = line.trim();
        if trimmed == begin {
            assert!(!skipping, "nested {begin:?}");
            skipping = true;
            continue;
        }
        if trimmed == end {
            assert!(skipping, "{end:?} without a begin");
            skipping = false;
            continue;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!skipping, "{begin:?} without an end");
    out
}

/// Adds a field to the frozen `PluginInfoFfi`, as a careless 1.x release might.
fn change_frozen_layout(source: &str) -> String {
    if !source.contains("pub struct PluginInfoFfi") {
        return source.to_string();
    }
    let changed = source
        .replacen(
            "    pub blocking: bool,\n}",
            "    pub blocking: bool,\n    pub added_by_mistake: u32,\n}",
            1,
        )
        .replacen(
            "        blocking,\n    }",
            "        blocking,\n        added_by_mistake: 0,\n    }",
            1,
        );
    assert_ne!(changed, source, "the layout change must apply");
    changed
}

fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create fixture folder");
    }
    std::fs::write(path, contents).expect("write fixture file");
}

fn build_variant(variant: &str, api_version: &str, transform: &dyn Fn(&str) -> String) -> PathBuf {
    let b = build();
    let base = b.target.join("abi-fixtures");
    let root = base.join(variant);
    // Cargo hashes a path dependency by its path relative to the workspace root, so every
    // copy needs its own relative path or their compiled artefacts overwrite each other.
    let api_dir = format!("api-{variant}");
    let api_src = workspace_root().join("plugin-api/src");

    write_if_changed(
        &root.join("Cargo.toml"),
        &format!("[workspace]\nresolver = \"2\"\nmembers = [\"plugin\", \"{api_dir}\"]\n"),
    );
    write_if_changed(
        &root.join(&api_dir).join("Cargo.toml"),
        &format!(
            "[package]\nname = \"vault-plugin-api\"\nversion = \"{api_version}\"\nedition = \"2021\"\n\n\
             [dependencies]\nabi_stable = \"0.11.3\"\nthiserror = \"2\"\n"
        ),
    );
    // The crate docs include the README.
    let readme = std::fs::read_to_string(workspace_root().join("plugin-api/README.md"))
        .expect("read plugin-api/README.md");
    write_if_changed(&root.join(&api_dir).join("README.md"), &readme);
    for entry in std::fs::read_dir(&api_src).expect("read plugin-api/src") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read plugin-api source");
        let name = path.file_name().expect("file name");
        write_if_changed(
            &root.join(&api_dir).join("src").join(name),
            &transform(&source),
        );
    }
    let lib_name = format!("fixture_{variant}");
    write_if_changed(
        &root.join("plugin/Cargo.toml"),
        &format!(
            "[package]\nname = \"fixture-{variant}\"\nversion = \"0.0.1\"\nedition = \"2021\"\n\n\
             [lib]\nname = \"{lib_name}\"\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nvault-plugin-api = {{ path = \"../{api_dir}\" }}\n"
        ),
    );
    let plugin_src =
        std::fs::read_to_string(workspace_root().join("tests/fixtures/abi-plugin/src/lib.rs"))
            .expect("read the fixture plugin source");
    write_if_changed(
        &root.join("plugin/src/lib.rs"),
        &format!(
            "const FIXTURE_NAME: &str = \"fixture-{variant}\";\n{}",
            transform(&plugin_src)
        ),
    );
    // Same dependency versions as the main workspace.
    if !root.join("Cargo.lock").exists() {
        std::fs::copy(workspace_root().join("Cargo.lock"), root.join("Cargo.lock"))
            .expect("copy Cargo.lock");
    }

    let target = base.join("target");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "-p", &format!("fixture-{variant}")])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        // Fixture crates are throwaway copies: their warnings are not ours to fix.
        .env("RUSTFLAGS", "--cap-lints=allow");
    if b.profile == "release" {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo for a fixture");
    assert!(
        status.success(),
        "building the {variant} ABI fixture failed"
    );
    let so = target.join(&b.profile).join(format!("lib{lib_name}.so"));
    assert!(so.exists(), "fixture {} missing", so.display());
    so
}
