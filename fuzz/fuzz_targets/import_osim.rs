//! Fuzzes `motornet import`: any UTF-8 text must be imported or refused with messages that name the file,
//! never a panic; an import's text must parse as a `.mnet` file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    match motornet::import::import_osim("fuzz.osim", source) {
        Ok(imported) => {
            let (model, _) = motornet_dsl::parse::parse(&imported.text);
            assert!(model.is_some(), "an import that does not parse");
        }
        Err(e) => assert!(e.to_string().contains("fuzz.osim"), "{e}"),
    }
});
