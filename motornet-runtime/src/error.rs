//! Errors of the runtime. Each says what went wrong and where, in terms a user can act on.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A model file did not compile; the text is the rendered diagnostics.
    Compile(String),
    UnknownParam {
        name: String,
        suggestion: Option<String>,
    },
    /// A parameter override that breaks a constraint of the model.
    InvalidParams(Vec<String>),
    /// A value given to the runtime has the wrong size.
    Shape {
        what: String,
        expected: usize,
        got: usize,
    },
    /// An initial joint state outside the joint limits.
    OutOfBounds {
        effector: usize,
        coord: String,
        value: f64,
        lower: f64,
        upper: f64,
    },
    /// A NaN or infinity appeared in a simulation.
    NonFinite {
        step: usize,
        effector: usize,
        part: String,
        index: String,
        value: f64,
    },
    /// Invalid input data (a malformed file, an unparsable override…).
    Input(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(text) => write!(f, "the model does not compile:\n{text}"),
            Error::UnknownParam { name, suggestion } => {
                write!(f, "unknown parameter `{name}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => write!(f, " (`motornet params MODEL` lists them)"),
                }
            }
            Error::InvalidParams(msgs) => write!(f, "invalid parameter values: {}", msgs.join("; ")),
            Error::Shape { what, expected, got } => write!(f, "{what}: expected {expected} values, got {got}"),
            Error::OutOfBounds { effector, coord, value, lower, upper } => write!(
                f,
                "initial position of `{coord}` for effector {effector} is {value}, outside its range [{lower}, {upper}]"
            ),
            Error::NonFinite { step, effector, part, index, value } => write!(
                f,
                "non-finite value {value} in the {part} state ({index}) of effector {effector} after step {step}"
            ),
            Error::Input(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}
