//! `motornet check` (and `expand`, `params`) against hostile input: what a broken export script, a binary
//! file or a huge file gets. Exit codes and messages only; nothing here measures time.

use std::path::PathBuf;
use std::process::Command;

fn motornet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .output()
        .expect("run motornet");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `bytes` to a fresh file in a directory of this test process.
fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn check(path: &std::path::Path) -> (i32, String, String) {
    motornet(&["check", "--plain", path.to_str().unwrap()])
}

const ARM: &str =
    "// an arm\nmodel m {\n  body a { mass 1 kg; length 0.3 m; }\n  joint j: world -> a {}\n}\n";

#[test]
fn an_error_far_out_on_one_long_line_is_drawn_as_a_window() {
    // An export script writes the whole model on one line; the problem is past column 65 536.
    let mut text =
        String::from("model m { body a { mass 1 kg; length 0.3 m; } joint j: world -> a {} ");
    let mut i = 0;
    while text.len() < 70_000 {
        text.push_str(&format!(
            "body b{i} {{ mass 1 kg; }} joint k{i}: a -> b{i} {{}} "
        ));
        i += 1;
    }
    let col = text.chars().count() + 15;
    text.push_str("body z { mass 1 s; } joint kz: a -> z {} endpoint a; }");
    let p = file("long_line.mnet", text.as_bytes());
    let (code, _, err) = check(&p);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(&format!("long_line.mnet:1:{col}]")), "{err}");
    assert!(err.contains("mass 1 s;"), "{err}");
    assert!(err.len() < 5000, "{} bytes", err.len());
}

#[test]
fn thousands_of_problems_are_counted_and_the_first_fifty_shown() {
    // 3000 duplicate bodies: every one is a problem (before the cap, each drawing also showed every line
    // between the duplicate and the first definition: output quadratic in the file).
    let mut text = String::from(
        "model m {\n  body a { mass 1 kg; length 0.3 m; }\n  joint j: world -> a {}\n",
    );
    for _ in 0..3000 {
        text.push_str("  body a { mass 1 kg; length 0.3 m; }\n");
    }
    text.push_str("}\n");
    let p = file("duplicates.mnet", text.as_bytes());
    let (code, _, err) = check(&p);
    assert_eq!(code, 1);
    assert_eq!(
        err.matches("is defined twice").count(),
        50,
        "{}",
        &err[..2000]
    );
    assert!(
        err.contains("… and 2950 more problems"),
        "{}",
        &err[err.len() - 500..]
    );
    assert!(err.ends_with(&format!("3000 problems in {}\n", p.display())));
}

#[test]
fn a_file_that_is_not_utf8_is_located_by_line_and_column() {
    let p = file("latin1.mnet", b"model m {\n  body \xe9 { }\n}\n");
    for cmd in ["check", "expand", "params"] {
        let (code, _, err) = motornet(&[cmd, p.to_str().unwrap()]);
        // `check` reports per file (1); the other commands stop with an error (2).
        assert_eq!(code, if cmd == "check" { 1 } else { 2 }, "{cmd}: {err}");
        assert!(err.contains("latin1.mnet:2:8:"), "{cmd}: {err}");
        assert!(err.contains("not UTF-8"), "{cmd}: {err}");
        assert!(!err.contains("offset"), "{cmd}: {err}");
    }
}

#[test]
fn directories_devices_and_missing_files_are_refused() {
    let dir = std::env::temp_dir();
    let (code, _, err) = motornet(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("regular file") && err.contains("directory"),
        "{err}"
    );
    if cfg!(unix) {
        // Endless: refused before reading.
        let (code, _, err) = motornet(&["check", "/dev/zero"]);
        assert_eq!(code, 1);
        assert!(err.contains("regular file"), "{err}");
        let (code, _, err) = motornet(&["expand", "/dev/zero"]);
        assert_eq!(code, 2);
        assert!(err.contains("regular file"), "{err}");
    }
    let (code, _, err) = motornet(&["check", "no_such_model.mnet"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no such file, and no built-in model of that name"),
        "{err}"
    );
    // A file over the size cap (32 MiB) is refused without being parsed.
    let big = file("big.mnet", &vec![b' '; (32 << 20) + 1]);
    let (code, _, err) = check(&big);
    assert_eq!(code, 1);
    assert!(err.contains("more than"), "{err}");
    std::fs::remove_file(big).ok();
}

#[test]
fn byte_order_marks_and_every_kind_of_line_end_are_accepted() {
    let cases = [
        ("bom.mnet", format!("\u{feff}{ARM}")),
        ("crlf.mnet", ARM.replace('\n', "\r\n")),
        ("cr.mnet", ARM.replace('\n', "\r")),
        (
            "bom_cr.mnet",
            format!("\u{feff}{}", ARM.replace('\n', "\r")),
        ),
    ];
    for (name, text) in cases {
        let p = file(name, text.as_bytes());
        let (code, out, err) = check(&p);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains(": ok"), "{name}: {out}");
    }
    // And problems in such files keep their line:col.
    let text = format!(
        "\u{feff}{}",
        ARM.replace('\n', "\r").replace("mass 1 kg", "mass 1 s")
    );
    let (code, _, err) = check(&file("bom_cr_bad.mnet", text.as_bytes()));
    assert_eq!(code, 1);
    assert!(err.contains("bom_cr_bad.mnet:3:17]"), "{err}");
}

#[test]
fn a_space_before_a_call_and_units_in_a_lumped_path_are_explained() {
    let text = ARM.replace(
        "joint j: world -> a {}",
        "joint j: world -> a {}\n  const c = sin (1.2);\n  muscle mu: ReluMuscle { max_force 1 N; path lumped 0.2 m + 0.03 * j; }",
    );
    let (code, _, err) = check(&file("explained.mnet", text.as_bytes()));
    assert_eq!(code, 1);
    assert!(err.contains("a space between `sin` and `(`"), "{err}");
    assert!(err.contains("a lumped path cannot contain units"), "{err}");
    assert!(
        err.contains("explained.mnet:5:17]") && err.contains("explained.mnet:6:58]"),
        "{err}"
    );
}

#[test]
fn a_500_term_lumped_path_is_accepted() {
    let terms = vec!["0.001*j"; 499].join(" + ");
    let text = ARM.replace(
        "joint j: world -> a {}",
        &format!("joint j: world -> a {{}}\n  muscle mu: ReluMuscle {{ max_force 1 N; path lumped 0.1 + {terms}; }}"),
    );
    let (code, out, err) = check(&file("sum500.mnet", text.as_bytes()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 muscles"), "{out}");
}

#[test]
fn a_huge_name_is_not_echoed_whole() {
    let name = "x".repeat(100_000);
    let text = ARM.replace("world -> a", &format!("world -> {name}"));
    let (code, _, err) = check(&file("huge_name.mnet", text.as_bytes()));
    assert_eq!(code, 1);
    assert!(err.contains("unknown body `xxxxxxxxxx"), "{err}");
    assert!(err.contains("…"), "{err}");
    assert!(err.len() < 3000, "{} bytes", err.len());
}
