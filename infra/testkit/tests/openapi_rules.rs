//! The field rules that `docs/openapi.yaml` states as patterns (issue 20, item 9) are the code's:
//! for any string, the document's schema accepts it exactly when the domain rule does. So a
//! request that the schemas accept is not refused for these fields (the contract run,
//! `schema_run.rs`, relies on it), and one they refuse is.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use proptest::prelude::*;
use regex::{Regex, RegexBuilder};
use serde_yaml::Value;
use shared::domain::validation::{CustomerFields, parse_org_name};

/// The `pattern` of a schema of `components.schemas`, compiled once as the Rust `regex` crate
/// reads it (the patterns use only syntax that ECMA-262, Python and Rust read alike).
fn pattern(schema: &str) -> &'static Regex {
    static PATTERNS: LazyLock<BTreeMap<String, Regex>> = LazyLock::new(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let schemas = doc["components"]["schemas"].as_mapping().unwrap();
        let patterns = schemas.iter().filter_map(|(name, schema)| Some((name.as_str()?, schema["pattern"].as_str()?)));
        // A 4,000-character repetition compiles past the default size limit.
        patterns.map(|(name, p)| (name.to_owned(), RegexBuilder::new(p).size_limit(1 << 28).build().unwrap())).collect()
    });
    &PATTERNS[schema]
}

/// Every character Rust's `trim` removes (Unicode `White_Space`), and some it keeps that look like
/// it (U+FEFF, U+180E, U+200B).
const SPACES: &[char] = &[
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2005}', '\u{200a}',
    '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}', '\u{180e}', '\u{200b}',
];
/// Controls (category `Cc`) that are not whitespace, at both ends of both ranges, and others
/// around them that are not controls.
const OTHERS: &[char] =
    &['\0', '\u{7}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}', '@', '.', '-', 'é', '\u{ad}', '😀', '\u{fffd}'];

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![8 => Just('a'), 1 => prop::sample::select(SPACES), 1 => prop::sample::select(OTHERS)]
}

/// Whitespace around a body of `len` characters, mostly plain: lengths land at every limit.
fn padded(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    let spaces = || prop::collection::vec(prop::sample::select(SPACES), 0..3);
    (spaces(), prop::collection::vec(any_char(), len), spaces())
        .prop_map(|(before, body, after)| before.into_iter().chain(body).chain(after).collect())
}

/// Address-like strings: short runs of characters joined by `@`, `.` and `-`, padded.
fn address() -> impl Strategy<Value = String> {
    let run = prop::collection::vec(any_char(), 0..4).prop_map(String::from_iter);
    let joint = prop::sample::select(&['@', '.', '-', '.'][..]);
    (padded(0..2), prop::collection::vec((run, joint), 1..6), padded(0..2)).prop_map(|(before, parts, after)| {
        let middle: String =
            parts.into_iter().flat_map(|(run, joint)| run.chars().chain([joint]).collect::<Vec<_>>()).collect();
        format!("{before}{}{after}", middle.trim_end_matches(['@', '.', '-']))
    })
}

/// `cases` cases, and no failure file (an integration test has no `lib.rs` beside it to put one).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn customer(change: impl FnOnce(&mut CustomerFields)) -> bool {
    let mut fields = CustomerFields { name: "Acme".into(), ..CustomerFields::default() };
    change(&mut fields);
    fields.validated().is_ok()
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn org_names(name in prop_oneof![padded(0..8), padded(95..106)]) {
        prop_assert_eq!(pattern("OrgName").is_match(&name), parse_org_name(&name).is_ok(), "{:?}", name);
    }

    #[test]
    fn customer_names(name in prop_oneof![padded(0..8), padded(195..206)]) {
        let accepted = customer(|c| c.name = name.clone());
        prop_assert_eq!(pattern("CustomerName").is_match(&name), accepted, "{:?}", name);
    }

    #[test]
    fn phones(phone in prop_oneof![padded(0..8), padded(28..38)]) {
        let accepted = customer(|c| c.phone = Some(phone.clone()));
        prop_assert_eq!(pattern("CustomerPhone").is_match(&phone), accepted, "{:?}", phone);
    }

    /// `CustomerEmail` adds `maxLength: 254` to its pattern, which counts the whitespace around
    /// the address too: the schema may refuse a padded address that the code takes, never the
    /// other way round.
    #[test]
    fn customer_emails(email in address()) {
        let schema = pattern("CustomerEmail").is_match(&email) && email.chars().count() <= 254;
        let code = customer(|c| c.email = Some(email.clone()));
        prop_assert!(!schema || code, "the schema accepts what the code refuses: {:?}", email);
        prop_assert!(!code || schema || email.chars().count() > 254, "the code accepts what the schema refuses: {:?}", email);
    }
}

proptest! {
    // Each case matches 4,000 characters against a large automaton: fewer cases.
    #![proptest_config(config(100))]

    #[test]
    fn notes(notes in prop_oneof![padded(0..8), padded(3995..4006)]) {
        let accepted = customer(|c| c.notes = Some(notes.clone()));
        prop_assert_eq!(pattern("CustomerNotes").is_match(&notes), accepted, "{:?}", notes);
    }
}

#[test]
fn email_lengths_count_the_address() {
    let email = |local: usize| format!("{}@example.com", "a".repeat(local));
    let fits = email(254 - "@example.com".len());
    assert!(pattern("CustomerEmail").is_match(&fits) && customer(|c| c.email = Some(fits.clone())));
    assert!(!customer(|c| c.email = Some(email(255 - "@example.com".len()))));
}
