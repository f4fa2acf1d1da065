//! The house's rule, checked on every test run: the crate's top-level modules are layers,
//! each importing only the layers listed before it (never one above, never a cycle), and no
//! two files of `src/` import each other, directly or around a loop.
//!
//! The import graph is read from the `crate::` paths in `src/` (outside comments): a path
//! names the deepest module a file of `src/` defines (`crate::lifecycle::enrollment::Enrollment`
//! is the file `src/lifecycle/enrollment.rs`). Paths through the crate root's re-exports
//! (`crate::Engine`) hide an import and are refused outside `lib.rs`.
//!
//! `src/bin/` holds the binaries (the `totp-enroll` command line), which are no layer: each
//! is a crate of its own, a client of the library through its public `totp_enroll::` paths
//! like any dependent, so it never compiles a file of the library into itself (`#[path]`,
//! `include!`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first, with what each holds. A module may import the ones above it in
/// this list, never one below it.
const LAYERS: &[(&str, &str)] = &[
    (
        "error",
        "the error catalogue: one enum per concern, no logic",
    ),
    ("clock", "the injected clock"),
    (
        "account",
        "account ids, labels, operators, step-up proofs, the name rules",
    ),
    (
        "otp",
        "secrets, code policy, input grammar, HOTP/TOTP, the verifier",
    ),
    (
        "keys",
        "the key ring: sealing, record MAC, recovery-code hashes, text form",
    ),
    ("provision", "key URI, QR code, the registration screen"),
    (
        "lifecycle",
        "the pure Enrollment and every transition, its byte form",
    ),
    (
        "audit",
        "audit events, request context, event codec (no I/O)",
    ),
    ("store", "the storage trait and the stores"),
    (
        "engine",
        "the async façade: screens, desk, devices, recovery, maintenance, outbox",
    ),
    (
        "messages",
        "wording, error classes, labels: nothing below imports it",
    ),
    (
        "testing",
        "feature `testing`: conformance suite, fault-injecting store",
    ),
];

type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The binaries' directory, `src/bin/`: not part of the library.
fn bin() -> PathBuf {
    src().join("bin")
}

/// Every `.rs` file under `dir` (but the binaries'), with its module path (`src/a/mod.rs`
/// is `a`).
fn collect_modules(dir: &Path, root: &Path, out: &mut BTreeMap<Module, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path == bin() {
            continue;
        }
        if path.is_dir() {
            collect_modules(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            out.insert(module, path);
        }
    }
}

/// The `crate::` paths of `text` outside comment lines, each as its segments up to the
/// first that is not a module name (an item, a `{` group, `*`).
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>, bool)> {
    let mut paths = Vec::new();
    for (number, line) in (1..).zip(text.lines()) {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = &rest[..at];
            rest = &rest[at + "crate::".len()..];
            if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
                continue; // e.g. `$crate::` or `other_crate::`
            }
            let mut segments = Vec::new();
            let mut root_item = false;
            let mut tail = rest;
            loop {
                let end = tail
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                let segment = &tail[..end];
                if segment.is_empty() {
                    break;
                }
                if segment.starts_with(|c: char| c.is_uppercase()) {
                    root_item = segments.is_empty();
                    break;
                }
                segments.push(segment.to_owned());
                match tail[end..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            paths.push((number, segments, root_item));
        }
    }
    paths
}

/// The deepest module of `modules` that `segments` names.
fn resolve(segments: &[String], modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].to_vec())
        .find(|m| modules.contains_key(m))
}

fn layer_of(module: &Module) -> Option<usize> {
    let top = module.first()?;
    LAYERS.iter().position(|(name, _)| name == top)
}

struct Graph {
    modules: BTreeMap<Module, PathBuf>,
    edges: BTreeMap<Module, BTreeSet<Module>>,
    /// `file:line: problem`, for a refused path.
    refused: Vec<String>,
}

fn graph() -> Graph {
    let root = src();
    let mut modules = BTreeMap::new();
    collect_modules(&root, &root, &mut modules);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let mut refused = Vec::new();
    for (module, path) in &modules {
        if module.is_empty() {
            continue; // lib.rs: declarations and re-exports
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (line, segments, root_item) in crate_paths(&text) {
            let at = format!("{}:{line}", path.strip_prefix(&root).unwrap().display());
            if root_item {
                refused.push(format!("{at}: a path through the crate root's re-exports"));
                continue;
            }
            match resolve(&segments, &modules) {
                Some(target) if &target != module => {
                    edges.entry(module.clone()).or_default().insert(target);
                }
                Some(_) => {}
                None => refused.push(format!(
                    "{at}: `crate::{}` names no file",
                    segments.join("::")
                )),
            }
        }
    }
    Graph {
        modules,
        edges,
        refused,
    }
}

fn name(module: &Module) -> String {
    module.join("::")
}

#[test]
fn every_top_level_module_of_src_is_a_known_layer() {
    let root = src();
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stem != "lib" && path != bin() {
            found.insert(stem);
        }
    }
    let known: BTreeSet<String> = LAYERS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(found, known, "src/ holds exactly the layers of this test");
}

#[test]
fn imports_name_modules_not_the_crate_roots_re_exports() {
    let graph = graph();
    assert!(graph.refused.is_empty(), "{:#?}", graph.refused);
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let graph = graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        let (Some(a), to) = (layer_of(from), targets) else {
            continue;
        };
        for target in to {
            let b = layer_of(target).unwrap();
            if from.first() != target.first() && b >= a {
                upward.push(format!(
                    "{} ({}) imports {} ({})",
                    name(from),
                    LAYERS[a].0,
                    name(target),
                    LAYERS[b].0
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports of a layer not below: {upward:#?}"
    );
}

#[test]
fn no_two_files_import_each_other_around_a_loop() {
    let graph = graph();
    // Depth-first search for a back edge, reporting the loop it closes.
    fn visit(
        node: &Module,
        graph: &Graph,
        state: &mut BTreeMap<Module, u8>,
        stack: &mut Vec<Module>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, graph, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle: Vec<String> = stack[from..].iter().map(name).collect();
                    cycle.push(name(next));
                    cycles.push(cycle.join(" -> "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for module in graph.modules.keys() {
        if !state.contains_key(module) {
            visit(module, &graph, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

/// The lines of `text` (outside comment lines) that compile another file into this one.
fn files_pulled_in(text: &str) -> Vec<usize> {
    (1..)
        .zip(text.lines())
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| line.contains("#[path") || line.contains("include!("))
        .map(|(number, _)| number)
        .collect()
}

/// Every `.rs` file of the binaries, below `dir`.
fn binary_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            binary_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn binaries_use_the_library_only_as_a_dependent_would() {
    let mut files = Vec::new();
    binary_files(&bin(), &mut files);
    assert!(!files.is_empty(), "src/bin/ holds the command line");
    let mut refused = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for line in files_pulled_in(&text) {
            refused.push(format!("{}:{line}", path.display()));
        }
    }
    assert!(
        refused.is_empty(),
        "binaries compile files into themselves instead of using the library: {refused:#?}"
    );
}

/// The checker itself: a made-up file that imports upward and in a loop is caught.
#[test]
fn the_checker_reads_paths_as_the_compiler_would() {
    let text = "use crate::otp::verify::{Verified, verify_any};\n\
                // use crate::engine::Engine;\n\
                /// [`Engine`](crate::Engine)\n\
                let x = crate::Engine::new(); let y = $crate::a::b;\n";
    let paths = crate_paths(text);
    assert_eq!(
        paths,
        vec![
            (1, vec!["otp".to_owned(), "verify".to_owned()], false),
            (4, vec![], true),
        ]
    );
    let mut modules = BTreeMap::new();
    modules.insert(vec!["otp".to_owned()], PathBuf::new());
    modules.insert(vec!["otp".to_owned(), "verify".to_owned()], PathBuf::new());
    assert_eq!(
        resolve(
            &["otp".to_owned(), "verify".to_owned(), "inner".to_owned()],
            &modules
        ),
        Some(vec!["otp".to_owned(), "verify".to_owned()])
    );
    assert_eq!(layer_of(&vec!["engine".to_owned()]), Some(9));
    assert_eq!(layer_of(&vec!["nowhere".to_owned()]), None);

    // A binary that compiles a library file into itself is caught; a comment is not.
    let binary = "// #[path = \"../../keys/ring.rs\"] mod ring;\n\
                  use totp_enroll::KeyRing;\n\
                  #[path = \"../../keys/ring.rs\"]\n\
                  mod ring;\n\
                  const TEXT: &str = include!(\"../../keys/text.rs\");\n";
    assert_eq!(files_pulled_in(binary), [3, 5]);
    // The library's graph never holds a binary's file.
    let graph = graph();
    assert!(
        graph
            .modules
            .keys()
            .all(|m| m.first().is_none_or(|top| top != "bin"))
    );
}
