//! What the examples share: reading their few command-line flags.

/// The value of `--name VALUE` on the command line, or `default`.
pub fn flag<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == &format!("--{name}")) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("--{name} needs a value")),
        None => default,
    }
}
