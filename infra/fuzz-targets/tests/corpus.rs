//! Replays every kept fuzz corpus (`fuzz/corpus/<target>/*`) through its target on stable Rust:
//! each input once, none may panic. `make fuzz` grows the corpora with libFuzzer.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        inputs += 1;
    }
    assert!(inputs > 0, "{target}: an empty corpus replays nothing");
    eprintln!("{target}: {inputs} inputs replayed");
}

#[test]
fn lemonsqueezy() {
    replay("lemonsqueezy", fuzz_targets::lemonsqueezy);
}

#[test]
fn workos() {
    replay("workos", fuzz_targets::workos);
}

#[test]
fn token() {
    replay("token", fuzz_targets::token);
}

#[test]
fn body() {
    replay("body", fuzz_targets::body);
}

#[test]
fn cursor() {
    replay("cursor", fuzz_targets::cursor);
}
