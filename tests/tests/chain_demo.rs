//! `chain_demo` as a process: bytes in on stdin, numbered lines out on stdout.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn chain_demo_numbers_every_line_of_a_large_input() {
    let bin = pipebuf_tests::example_bin("chain_demo").unwrap();
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = Vec::new();
    for i in 0..20_000 {
        writeln!(input, "line {i}").unwrap();
    }
    input.extend_from_slice(b"no newline at end");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());

    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20_001);
    assert_eq!(lines[0], "1: line 0");
    assert_eq!(lines[19_999], "20000: line 19999");
    assert_eq!(lines[20_000], "20001: no newline at end");
}
