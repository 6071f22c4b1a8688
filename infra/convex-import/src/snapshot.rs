//! A `npx convex export` ZIP, read as it is: `_tables/documents.jsonl` (which makes it a
//! snapshot) and `<table>/documents.jsonl` per table, one JSON document a line. Read entry by
//! entry and line by line: memory holds one line (at most [`MAX_LINE_BYTES`]) at a time,
//! whatever the snapshot's size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

/// Convex documents are at most 1 MiB; a longer line is reported, not held.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

const TABLES_ENTRY: &str = "_tables/documents.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path} is not a ZIP file ({why})")]
    NotZip { path: String, why: String },
    #[error(
        "{path} is not a Convex snapshot: it has no {TABLES_ENTRY} (make one with `npx convex export --path <file>.zip`)"
    )]
    NotConvex { path: String },
    #[error("reading {entry} of the snapshot: {why}")]
    Read { entry: String, why: String },
}

/// An opened snapshot.
pub struct Snapshot {
    archive: zip::ZipArchive<BufReader<File>>,
}

/// One line of a table: its number (from 1) and its document, or why it is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub number: u64,
    pub document: Result<Map<String, Value>, String>,
}

impl Snapshot {
    pub fn open(path: &Path) -> Result<Self, SnapshotError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| SnapshotError::NotZip { path: shown.clone(), why: e.to_string() })?;
        let archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| SnapshotError::NotZip { path: shown.clone(), why: e.to_string() })?;
        if archive.index_for_name(TABLES_ENTRY).is_none() {
            return Err(SnapshotError::NotConvex { path: shown });
        }
        Ok(Self { archive })
    }

    /// The tables with documents (`<table>/documents.jsonl`), sorted; Convex's own (`_…`) left out.
    pub fn tables(&self) -> Vec<String> {
        let mut tables: Vec<String> = self
            .archive
            .file_names()
            .filter_map(|name| Some(name.ok()?.strip_suffix("/documents.jsonl")?.to_owned()))
            .filter(|table| !table.starts_with('_') && !table.contains('/'))
            .collect();
        tables.sort();
        tables
    }

    /// The lines of `table`, read as they are asked for; none if the snapshot has no such table.
    pub fn lines(&mut self, table: &str) -> Result<Lines<'_>, SnapshotError> {
        let entry = format!("{table}/documents.jsonl");
        let reader = match self.archive.index_for_name(&entry) {
            Some(index) => Some(
                self.archive
                    .by_index(index)
                    .map_err(|e| SnapshotError::Read { entry: entry.clone(), why: e.to_string() })?,
            ),
            None => None,
        };
        Ok(Lines { reader: reader.map(BufReader::new), entry, number: 0, buffer: Vec::new() })
    }
}

/// The lines of one table's entry, in order.
pub struct Lines<'a> {
    reader: Option<BufReader<zip::read::ZipFile<'a, BufReader<File>>>>,
    entry: String,
    number: u64,
    buffer: Vec<u8>,
}

impl Lines<'_> {
    /// Up to `count` more lines (fewer at the end; none once it is over). Blank lines are skipped.
    pub fn next_batch(&mut self, count: usize) -> Result<Vec<Line>, SnapshotError> {
        let mut batch = Vec::with_capacity(count);
        while batch.len() < count {
            match self.next_line()? {
                Some(line) => batch.push(line),
                None => break,
            }
        }
        Ok(batch)
    }

    fn next_line(&mut self) -> Result<Option<Line>, SnapshotError> {
        let Some(reader) = self.reader.as_mut() else { return Ok(None) };
        let read_error =
            |e: std::io::Error, entry: &str| SnapshotError::Read { entry: entry.to_owned(), why: e.to_string() };
        loop {
            self.buffer.clear();
            let read = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|e| read_error(e, &self.entry))?;
            if read == 0 {
                self.reader = None;
                return Ok(None);
            }
            self.number += 1;
            if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
                // Skip the rest of the line without holding it.
                loop {
                    let mut rest = Vec::new();
                    let n = reader
                        .by_ref()
                        .take(64 * 1024)
                        .read_until(b'\n', &mut rest)
                        .map_err(|e| read_error(e, &self.entry))?;
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                }
                let why = format!("longer than {MAX_LINE_BYTES} bytes");
                return Ok(Some(Line { number: self.number, document: Err(why) }));
            }
            let text = self.buffer.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let document = match serde_json::from_slice::<Value>(text) {
                Ok(Value::Object(document)) => Ok(document),
                Ok(_) => Err("not a JSON object".to_owned()),
                Err(e) => Err(format!("not JSON ({e})")),
            };
            return Ok(Some(Line { number: self.number, document }));
        }
    }
}
