//! Strict JSON: duplicate keys and non-finite numbers refused and located, and `Doc`, a reader that
//! checks every field's presence, type and shape and names the file and the field in every message.

use super::*;

/// A JSON value parsed with duplicate keys refused.
pub(super) struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

pub(super) struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key `{}`",
                    short(&key)
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses reference text as JSON, refusing duplicate keys. A syntax error is located by line, column and
/// the path of the value it is in (the references are one line of up to megabytes, so the path is what
/// tells where), with a hint for `NaN` and `Infinity`, which Python writes but JSON does not allow.
pub fn parse_json(file: &str, text: &str) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = <Strict as serde::Deserialize>::deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v.0)
    });
    parsed.map_err(|e| {
        let (line, col) = (e.line(), e.column());
        let offset = if line == 0 {
            text.len()
        } else {
            let start: usize = text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum();
            (start + col.saturating_sub(1)).min(text.len())
        };
        let path = json_path_at(text, offset);
        let mut msg = e.to_string();
        if let Some(i) = msg.rfind(" at line ") {
            msg.truncate(i);
        }
        let mut from = offset.saturating_sub(2);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        let near: String = text[from..].chars().take(12).collect();
        let hint = if near.contains("NaN") || near.contains("Infinity") {
            " (NaN and Infinity are not JSON numbers; a reference must hold finite values)"
        } else if msg.contains("number out of range") {
            " (a number too large for a 64-bit float; a reference must hold finite values)"
        } else {
            ""
        };
        let within = if path.is_empty() {
            String::new()
        } else {
            format!(" in `{path}`")
        };
        Error::Input(format!(
            "{file}:{line}:{col}: not valid JSON{within}: {msg}{hint}"
        ))
    })
}

/// The path (`joint[2][17][3]`, `grad.x[0]`) of the JSON value that byte `end` of `text` lies in, found
/// by scanning the text before it (which need not be valid JSON).
pub(super) fn json_path_at(text: &str, end: usize) -> String {
    enum Frame {
        Object(Option<String>, bool),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let end = end.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < end && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(Frame::Object(key, true)) = stack.last_mut() {
                    let s = &bytes[start..i.min(end)];
                    *key = Some(String::from_utf8_lossy(s).into_owned());
                }
            }
            b'{' => stack.push(Frame::Object(None, true)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_, want_key)) => *want_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object(_, want_key)) = stack.last_mut() {
                    *want_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(k), _) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&short(k));
            }
            Frame::Object(None, _) => {}
            Frame::Array(n) => {
                let _ = write!(out, "[{n}]");
            }
        }
    }
    out
}

/// A key or string shortened for messages.
pub(super) fn short(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    }
}

/// What a JSON value is, for messages (never the whole value: references are megabytes).
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{}\"", short(s)),
        Value::Array(a) if a.is_empty() => "an empty list".into(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// Flattens nested JSON arrays of numbers (row-major), without checking their shape.
pub fn flatten(v: &Value) -> Result<Vec<f64>, Error> {
    let mut out = Vec::new();
    pub(super) fn go(v: &Value, out: &mut Vec<f64>) -> Result<(), Error> {
        match v {
            Value::Array(items) => items.iter().try_for_each(|x| go(x, out)),
            Value::Number(n) => {
                out.push(n.as_f64().unwrap_or(f64::NAN));
                Ok(())
            }
            other => Err(Error::Input(format!(
                "expected numbers, found {}",
                describe(other)
            ))),
        }
    }
    go(v, &mut out)?;
    Ok(out)
}

/// The dimensions of a nested list, following first elements.
pub(super) fn shape_of(mut v: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    while let Value::Array(items) = v {
        shape.push(items.len());
        match items.first() {
            Some(x) => v = x,
            None => break,
        }
    }
    shape
}

/// Reads `v` as a nested list of finite numbers of exactly `shape` (row-major).
pub(super) fn numbers(v: &Value, shape: &[usize]) -> Result<Vec<f64>, String> {
    pub(super) fn go(
        v: &Value,
        shape: &[usize],
        at: &mut Vec<usize>,
        out: &mut Vec<f64>,
    ) -> Result<(), String> {
        let here = |at: &[usize]| {
            if at.is_empty() {
                String::new()
            } else {
                let mut s = String::from("at ");
                for i in at {
                    let _ = write!(s, "[{i}]");
                }
                s + ": "
            }
        };
        match (shape.split_first(), v) {
            (None, Value::Number(n)) => match n.as_f64().filter(|x| x.is_finite()) {
                Some(x) => {
                    out.push(x);
                    Ok(())
                }
                None => Err(format!("{}a non-finite number", here(at))),
            },
            (None, other) => Err(format!(
                "{}expected a number, found {}",
                here(at),
                describe(other)
            )),
            (Some((&n, rest)), Value::Array(items)) if items.len() == n => {
                for (i, x) in items.iter().enumerate() {
                    at.push(i);
                    go(x, rest, at, out)?;
                    at.pop();
                }
                Ok(())
            }
            (Some((&n, _)), other) => Err(format!(
                "{}expected a list of {n}, found {}",
                here(at),
                describe(other)
            )),
        }
    }
    let mut out = Vec::new();
    go(v, shape, &mut Vec::new(), &mut out)?;
    Ok(out)
}

pub(super) fn dims(shape: &[Option<usize>]) -> String {
    shape
        .iter()
        .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
        .collect::<Vec<_>>()
        .join(" × ")
}

/// The type of an informational field.
#[derive(Clone, Copy)]
pub(super) enum Info {
    Text,
    Count,
    Flag,
    Number,
    /// A list (of anything).
    List,
    /// An object (of anything).
    Object,
    /// A list or `null` (a grid that random samples do not have).
    ListOrNull,
}

/// One object of a reference (the file, or a sample in it) being read.
pub(super) struct Doc<'a> {
    pub(super) file: &'a str,
    /// Prefix of field names in messages (`samples[3].`), empty at the top level.
    pub(super) prefix: String,
    pub(super) obj: &'a Map<String, Value>,
}

impl<'a> Doc<'a> {
    pub(super) fn err(&self, field: &str, msg: impl std::fmt::Display) -> Error {
        Error::Input(format!("{}: `{}{field}`: {msg}", self.file, self.prefix))
    }

    pub(super) fn get(&self, field: &str) -> Result<&'a Value, Error> {
        self.obj.get(field).ok_or_else(|| {
            Error::Input(format!(
                "{}: the reference has no `{}{field}` field, which it must have",
                self.file, self.prefix
            ))
        })
    }

    /// Refuses fields not in `known`.
    pub(super) fn only(&self, known: &[&str]) -> Result<(), Error> {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| format!("`{}{}`", self.prefix, short(k)))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Input(format!(
            "{}: unknown field{} {} (this kind of reference has: {})",
            self.file,
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            known.join(", ")
        )))
    }

    /// Checks the types of the informational fields that are present.
    pub(super) fn info(&self, fields: &[(&str, Info)]) -> Result<(), Error> {
        for &(name, ty) in fields {
            let Some(v) = self.obj.get(name) else {
                continue;
            };
            let ok = match ty {
                Info::Text => v.is_string(),
                Info::Count => v.is_u64(),
                Info::Flag => v.is_boolean(),
                Info::Number => v.is_number(),
                Info::List => v.is_array(),
                Info::Object => v.is_object(),
                Info::ListOrNull => v.is_array() || v.is_null(),
            };
            if !ok {
                let want = match ty {
                    Info::Text => "a string",
                    Info::Count => "a whole number ≥ 0",
                    Info::Flag => "true or false",
                    Info::Number => "a number",
                    Info::List => "a list",
                    Info::Object => "an object",
                    Info::ListOrNull => "a list or null",
                };
                return Err(self.err(name, format!("expected {want}, found {}", describe(v))));
            }
        }
        Ok(())
    }

    pub(super) fn count(&self, field: &str, min: u64) -> Result<usize, Error> {
        let v = self.get(field)?;
        match v.as_u64() {
            Some(n) if n >= min => {
                usize::try_from(n).map_err(|_| self.err(field, format!("{n} is too large")))
            }
            _ => Err(self.err(
                field,
                format!("expected a whole number ≥ {min}, found {}", describe(v)),
            )),
        }
    }

    pub(super) fn number(&self, field: &str) -> Result<f64, Error> {
        let v = self.get(field)?;
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.err(field, format!("expected a number, found {}", describe(v))))
    }

    pub(super) fn positive(&self, field: &str) -> Result<f64, Error> {
        let x = self.number(field)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.err(field, format!("expected a positive number, found {x}")))
        }
    }

    /// A list of `n` strings (any length when `n` is `None`, but not empty).
    pub(super) fn strings(&self, field: &str, n: Option<usize>) -> Result<Vec<String>, Error> {
        let v = self.get(field)?;
        let want = match n {
            Some(n) => format!("a list of {n} strings"),
            None => "a non-empty list of strings".to_string(),
        };
        let items = match v.as_array() {
            Some(items) if n.map_or(!items.is_empty(), |n| items.len() == n) => items,
            _ => return Err(self.err(field, format!("expected {want}, found {}", describe(v)))),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str().map(str::to_string).ok_or_else(|| {
                    self.err(field, format!("expected {want}; [{i}] is {}", describe(x)))
                })
            })
            .collect()
    }

    /// A nested list of finite numbers of shape `shape` (described as `what`, e.g. "batch × steps ×
    /// muscles"); `None` dimensions are taken from the data. Returns the values and the full shape.
    pub(super) fn array(
        &self,
        field: &str,
        what: &str,
        shape: &[Option<usize>],
    ) -> Result<(Vec<f64>, Vec<usize>), Error> {
        let v = self.get(field)?;
        self.array_value(field, v, what, shape)
    }

    pub(super) fn array_value(
        &self,
        field: &str,
        v: &Value,
        what: &str,
        shape: &[Option<usize>],
    ) -> Result<(Vec<f64>, Vec<usize>), Error> {
        let actual = shape_of(v);
        let concrete: Option<Vec<usize>> = shape
            .iter()
            .enumerate()
            .map(|(d, s)| s.or_else(|| actual.get(d).copied()))
            .collect();
        let fail = |msg: String| {
            self.err(
                field,
                format!("expected {what} = {} numbers; {msg}", dims(shape)),
            )
        };
        let Some(concrete) = concrete else {
            return Err(fail(format!("found {}", describe(v))));
        };
        let data = numbers(v, &concrete).map_err(fail)?;
        Ok((data, concrete))
    }
}
