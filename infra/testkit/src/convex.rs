//! Convex snapshots for the import's tests, in the format `npx convex export` writes: a ZIP
//! with `_tables/documents.jsonl` (one line per table) and `<table>/documents.jsonl`, one JSON
//! document a line, deflated. Lines are given as text, so a test can put in a broken one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A snapshot being made: tables and their lines, in order.
#[derive(Debug, Default, Clone)]
pub struct SnapshotBuilder {
    tables: Vec<(String, Vec<String>)>,
}

impl SnapshotBuilder {
    /// Adds a document (as one JSON line) to `table`.
    pub fn document(&mut self, table: &str, document: Value) -> &mut Self {
        self.line(table, &document.to_string())
    }

    /// Adds a raw line to `table` (which need not be JSON).
    pub fn line(&mut self, table: &str, line: &str) -> &mut Self {
        match self.tables.iter_mut().find(|(name, _)| name == table) {
            Some((_, lines)) => lines.push(line.to_owned()),
            None => self.tables.push((table.to_owned(), vec![line.to_owned()])),
        }
        self
    }

    /// Writes the ZIP to a new file under the system's temporary directory.
    pub fn write(&self) -> Snapshot {
        let path = std::env::temp_dir().join(format!("convex-snapshot-{}.zip", ulid::Ulid::new()));
        let file = std::fs::File::create(&path).expect("create the snapshot");
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("_tables/documents.jsonl", options).expect("zip entry");
        for (n, (table, _)) in self.tables.iter().enumerate() {
            let line = json!({"_id": format!("tbl{n}"), "_creationTime": 1_700_000_000_000u64, "name": table, "id": n + 10001});
            writeln!(zip, "{line}").expect("write");
        }
        for (table, lines) in &self.tables {
            zip.start_file(format!("{table}/documents.jsonl"), options).expect("zip entry");
            for line in lines {
                writeln!(zip, "{line}").expect("write");
            }
        }
        zip.finish().expect("finish the snapshot");
        Snapshot { path }
    }
}

/// A snapshot file, deleted when dropped.
pub struct Snapshot {
    pub path: PathBuf,
}

impl Snapshot {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A ZIP with the given entries (name, text): for files that are not Convex snapshots.
pub fn zip_with(entries: &[(&str, &str)]) -> Snapshot {
    let path = std::env::temp_dir().join(format!("not-a-snapshot-{}.zip", ulid::Ulid::new()));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    for (name, text) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("zip entry");
        zip.write_all(text.as_bytes()).expect("write");
    }
    zip.finish().expect("finish");
    Snapshot { path }
}
