//! The layering of `shared` (see the top of `src/lib.rs`), checked on the source: a module may
//! use only the layers below it, `store` and `clients` never use each other, and a file over 300
//! lines says in its opening comment why it is not split.

use std::path::{Path, PathBuf};

/// The layer of each top-level module, lowest first; `store` and `clients` share a layer.
const LAYERS: &[(&str, u8)] = &[
    ("timestamp", 1),
    ("crypto", 1),
    ("error", 1),
    ("telemetry", 1),
    ("domain", 2),
    ("config", 3),
    ("store", 4),
    ("clients", 4),
    ("flows", 5),
    ("api", 6),
];

/// The items `lib.rs` re-exports, by the module that defines them.
const REEXPORTS: &[(&str, &str)] = &[("Deps", "flows"), ("ApiError", "error"), ("Timestamp", "timestamp")];

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| panic!("module {module} has no layer: add it to LAYERS here and to the list in src/lib.rs"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::…`.
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (index, _) in text.match_indices("crate::") {
        let rest = &text[index + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if name.is_empty() {
            // `use crate::{a, b}`: each name inside the braces.
            if let Some(group) = rest.strip_prefix('{').and_then(|g| g.split('}').next()) {
                for item in group.split(',') {
                    let head: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !head.is_empty() {
                        found.push(head);
                    }
                }
            }
        } else {
            found.push(name);
        }
    }
    found
        .into_iter()
        .map(|name| REEXPORTS.iter().find(|(item, _)| *item == name).map_or(name, |(_, module)| module.to_string()))
        .collect()
}

/// Every source file of `src/` but `lib.rs`: its path below `src/`, its top-level module, its text.
fn module_files() -> Vec<(PathBuf, String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&root).unwrap().to_path_buf();
            let module =
                relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned();
            (module != "lib").then(|| (relative, module, std::fs::read_to_string(&file).unwrap()))
        })
        .collect()
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let mut violations = Vec::new();
    for (relative, module, text) in module_files() {
        for used in uses(&text) {
            if used == module {
                continue;
            }
            let sideways = layer(&used) == layer(&module);
            if layer(&used) > layer(&module) || sideways {
                violations.push(format!("{} ({module}) uses {used}", relative.display()));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(violations.is_empty(), "imports against the layers:\n{}", violations.join("\n"));
}

#[test]
fn a_long_file_says_why_it_is_not_split() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        let opening: String = text.lines().take_while(|l| l.starts_with("//!")).collect::<Vec<_>>().join("\n");
        // "About 300": a few lines over is not worth a split.
        if lines > 320 && !opening.contains("Over 300 lines:") {
            long.push(format!("{} ({lines} lines)", file.strip_prefix(&root).unwrap().display()));
        }
    }
    assert!(long.is_empty(), "split these, or say why not in an opening `//! Over 300 lines: …`:\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_reexported_uses() {
    assert_eq!(uses("use crate::{Deps, Timestamp, crypto};"), ["flows", "timestamp", "crypto"]);
    assert_eq!(uses("let x = crate::store::keys::org_pk(id);"), ["store"]);
}

/// Issue 21: below `api`, nothing names an HTTP or Lambda event type. The layers below take a
/// credential and a request id (`flows::access::Call`), so that a caller that is not an HTTP
/// request (a WebSocket event, an operator's import) is one more case, not a second path.
#[test]
fn no_module_below_api_names_an_http_or_lambda_event_type() {
    let mut named = Vec::new();
    for (relative, module, text) in module_files() {
        if layer(&module) >= layer("api") {
            continue;
        }
        for crate_name in ["lambda_http", "aws_lambda_events", "lambda_runtime"] {
            if text.contains(crate_name) {
                named.push(format!("{} ({module}) names {crate_name}", relative.display()));
            }
        }
    }
    assert!(named.is_empty(), "HTTP or Lambda types below api:\n{}", named.join("\n"));
}
