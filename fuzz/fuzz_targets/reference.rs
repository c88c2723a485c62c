//! Fuzzes the reference reader of `motornet verify`: any bytes must be refused with a message or read,
//! checked and (for a supported kind) run and compared — never a panic. Non-UTF-8 bytes go through the
//! file reader (`motornet::input::read_text`), which must locate the bad byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motornet::verify::{check_text, verify_path, verify_text, Options, Outcome};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        let path = std::env::temp_dir().join(format!("motornet-fuzz-{}.json", std::process::id()));
        if std::fs::write(&path, bytes).is_ok() {
            let e = verify_path(&path, &Options::default()).expect_err("not UTF-8");
            assert!(e.to_string().contains("UTF-8"), "{e}");
        }
        return;
    };
    let checked = check_text("fuzz.json", text);
    match verify_text("fuzz.json", text, &Options::default()) {
        // The run reads the same way as the check: whatever the check refuses, the run refuses.
        Ok(outcome) => {
            let kind = checked.expect("verify accepted what check refused");
            match outcome {
                Outcome::Unsupported { kind: k, .. } => assert_eq!(k, kind),
                Outcome::Compared(report) => {
                    assert!(kind.supported());
                    // A pass always compared something.
                    if report.passed() {
                        assert!(report.fields.iter().all(|f| f.count > 0));
                    }
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
