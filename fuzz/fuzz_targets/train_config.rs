//! Fuzzes the training-configuration reader: any UTF-8 text must be read or refused with a message,
//! never a panic; a configuration that is read can be written back and read again, and validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motornet::training::TrainConfig;

fuzz_target!(|text: &str| {
    if let Ok(config) = TrainConfig::from_toml(text) {
        let written = config.to_toml();
        TrainConfig::from_toml(&written).expect("a configuration that was read reads back");
        let _ = config.validate();
    }
});
