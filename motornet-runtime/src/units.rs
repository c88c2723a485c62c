//! Physical dimensions and units: the unit words of the `.mnet` language with their SI scale, and a small
//! parser for quantities such as `500 N` or `120 deg` (parameter overrides). The compiler's checker reads
//! unit words from the same table, so a unit means the same everywhere.

/// Physical dimension as exponents of (mass, length, time, angle). Angles are kept apart from plain numbers
/// so that `range 0 m .. 1 m` on a hinge is caught.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Dim(pub [i8; 4]);

impl Dim {
    pub const NONE: Dim = Dim([0, 0, 0, 0]);
    pub const MASS: Dim = Dim([1, 0, 0, 0]);
    pub const LENGTH: Dim = Dim([0, 1, 0, 0]);
    pub const TIME: Dim = Dim([0, 0, 1, 0]);
    pub const ANGLE: Dim = Dim([0, 0, 0, 1]);
    pub const FORCE: Dim = Dim([1, 1, -2, 0]);
    pub const INERTIA: Dim = Dim([1, 2, 0, 0]);
    pub const SPEED: Dim = Dim([0, 1, -1, 0]);
    pub const ANGULAR_SPEED: Dim = Dim([0, 0, -1, 1]);
    pub const ACCELERATION: Dim = Dim([0, 1, -2, 0]);
    /// Torque per angular velocity (N m s/rad).
    pub const ROTARY_DAMPING: Dim = Dim([1, 2, -1, -1]);
    /// Force per velocity (N s/m).
    pub const LINEAR_DAMPING: Dim = Dim([1, 0, -1, 0]);

    pub fn mul(self, o: Dim, power: i32) -> Dim {
        let mut d = self.0;
        for (a, b) in d.iter_mut().zip(o.0) {
            *a = a.saturating_add((i32::from(b) * power).clamp(-100, 100) as i8);
        }
        Dim(d)
    }

    /// The SI unit of this dimension, as it would be written in a model file.
    pub fn si_unit(self) -> String {
        match self {
            Dim::NONE => return "no unit".into(),
            Dim::FORCE => return "N".into(),
            _ => {}
        }
        let names = ["kg", "m", "s", "rad"];
        let mut num = Vec::new();
        let mut den = Vec::new();
        for (n, &p) in names.iter().zip(&self.0) {
            let part = |p: i8| {
                if p == 1 {
                    n.to_string()
                } else {
                    format!("{n}^{p}")
                }
            };
            match p {
                0 => {}
                p if p > 0 => num.push(part(p)),
                p => den.push(part(-p)),
            }
        }
        let num = if num.is_empty() {
            "1".to_string()
        } else {
            num.join(" ")
        };
        if den.is_empty() {
            num
        } else {
            format!("{num}/{}", den.join(" "))
        }
    }

    /// A human name for messages ("a length (m)").
    pub fn describe(self) -> String {
        let what = match self {
            Dim::NONE => "a plain number",
            Dim::MASS => "a mass",
            Dim::LENGTH => "a length",
            Dim::TIME => "a time",
            Dim::ANGLE => "an angle",
            Dim::FORCE => "a force",
            Dim::INERTIA => "a moment of inertia",
            Dim::SPEED => "a speed",
            Dim::ANGULAR_SPEED => "an angular speed",
            Dim::ACCELERATION => "an acceleration",
            _ => "a quantity",
        };
        if self == Dim::NONE {
            what.to_string()
        } else {
            format!("{what} ({})", self.si_unit())
        }
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.si_unit())
    }
}

/// The unit words of the language: (word, scale to SI, dimension).
pub const UNITS: [(&str, f64, Dim); 10] = [
    ("kg", 1.0, Dim::MASS),
    ("g", 1e-3, Dim::MASS),
    ("m", 1.0, Dim::LENGTH),
    ("cm", 1e-2, Dim::LENGTH),
    ("mm", 1e-3, Dim::LENGTH),
    ("s", 1.0, Dim::TIME),
    ("ms", 1e-3, Dim::TIME),
    ("N", 1.0, Dim::FORCE),
    ("rad", 1.0, Dim::ANGLE),
    ("deg", std::f64::consts::PI / 180.0, Dim::ANGLE),
];

/// Largest power a unit word may carry (`m^8`).
pub const MAX_UNIT_POWER: i32 = 8;

/// The SI scale and dimension of a unit word.
pub fn unit_word(word: &str) -> Option<(f64, Dim)> {
    UNITS
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|&(_, s, d)| (s, d))
}

/// The scale to SI and dimension of a unit written as in a model file: words with optional integer
/// powers, separated by spaces or `*`; a `/` divides by everything after it (`N m s/rad`, `kg m^2`).
pub fn parse_unit(text: &str) -> Result<(f64, Dim), String> {
    let mut scale = 1.0;
    let mut dim = Dim::NONE;
    let mut sign = 1;
    let mut any = false;
    let mut after_operator = false;
    let spaced = text.replace('/', " / ").replace('*', " * ");
    for token in spaced.split_whitespace() {
        match token {
            "/" | "*" => {
                if after_operator || !any {
                    return Err(format!("`{text}`: expected a unit word before `{token}`"));
                }
                sign = if token == "/" { -1 } else { 1 };
                after_operator = true;
            }
            _ => {
                after_operator = false;
                let (word, power) = match token.split_once('^') {
                    Some((w, p)) => (
                        w,
                        p.parse::<i32>()
                            .map_err(|_| format!("`{token}`: the power must be an integer"))?,
                    ),
                    None => (token, 1),
                };
                if power.abs() > MAX_UNIT_POWER {
                    return Err(format!("`{token}`: unit power out of range"));
                }
                let (s, d) = unit_word(word).ok_or_else(|| {
                    let words: Vec<&str> = UNITS.iter().map(|u| u.0).collect();
                    format!("`{word}` is not a unit (units: {})", words.join(", "))
                })?;
                scale *= s.powi(sign * power);
                dim = dim.mul(d, sign * power);
                any = true;
            }
        }
    }
    if !any || after_operator {
        return Err(format!("`{text}`: expected a unit word"));
    }
    Ok((scale, dim))
}

/// A value for a parameter of dimension `dim`, from text such as `500`, `500 N`, `-30 deg`,
/// `0.05 kg m^2` or `2 * pi / 3 rad`: an arithmetic expression of numbers and `pi` (`+ - * / ^`,
/// parentheses), optionally followed by a unit. A plain number is in SI units; a unit must be of the
/// parameter's dimension and converts the value to SI.
pub fn parse_quantity(text: &str, dim: Dim) -> Result<f64, String> {
    let text = text.trim();
    let mut p = Arith {
        text,
        at: 0,
        depth: 0,
    };
    let value = p.sum()?;
    let unit = text[p.at..].trim();
    if unit.starts_with(|c: char| !(c.is_ascii_alphabetic() || c == '_')) {
        return Err(format!("`{text}`: unexpected `{unit}`"));
    }
    if !value.is_finite() {
        return Err(format!("`{text}` is not a finite number"));
    }
    if unit.is_empty() {
        return Ok(value);
    }
    let (scale, written) = parse_unit(unit)?;
    if written != dim {
        return Err(format!(
            "unit mismatch: expected {}, found {}",
            dim.describe(),
            written.describe()
        ));
    }
    Ok(value * scale)
}

/// A recursive-descent reader of the arithmetic part of a quantity. It stops at the first word that is
/// not `pi`, where the unit begins.
struct Arith<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Arith<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }
    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }
    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.rest().chars().next()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn sum(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        loop {
            if self.eat('+') {
                v += self.product()?;
            } else if self.eat('-') {
                v -= self.product()?;
            } else {
                return Ok(v);
            }
        }
    }
    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.unary()?;
        loop {
            // A `/` or `*` followed by a word belongs to the unit (`5 N/rad` is not reached here, but
            // `5 / rad` would be): leave it for the unit.
            let save = self.at;
            let op = if self.eat('*') {
                '*'
            } else if self.eat('/') {
                '/'
            } else {
                return Ok(v);
            };
            if self.peek().is_some_and(|c| c.is_ascii_alphabetic())
                && !self.rest().starts_with("pi")
            {
                self.at = save;
                return Ok(v);
            }
            let w = self.unary()?;
            v = if op == '*' { v * w } else { v / w };
        }
    }
    /// `^` binds tighter than a sign, and is right-associative, as in the language: `-2^2` is −4,
    /// `2^-1` is 0.5.
    fn power(&mut self) -> Result<f64, String> {
        let base = self.primary()?;
        if self.eat('^') {
            let exponent = self.unary()?;
            return Ok(base.powf(exponent));
        }
        Ok(base)
    }
    fn unary(&mut self) -> Result<f64, String> {
        if self.eat('-') {
            return Ok(-self.unary()?);
        }
        if self.eat('+') {
            return self.unary();
        }
        self.power()
    }
    fn primary(&mut self) -> Result<f64, String> {
        if self.eat('(') {
            self.depth += 1;
            if self.depth > 32 {
                return Err(format!("`{}`: too many nested parentheses", self.text));
            }
            let v = self.sum()?;
            if !self.eat(')') {
                return Err(format!("`{}`: missing `)`", self.text));
            }
            self.depth -= 1;
            return Ok(v);
        }
        let rest = self.rest();
        if let Some(after) = rest.strip_prefix("pi") {
            if !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                self.at += 2;
                return Ok(std::f64::consts::PI);
            }
        }
        // The longest prefix that reads as a decimal number (`1e-3` in `1e-3 kg`).
        let len = rest
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&i| {
                rest[..i]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
            })
            .filter(|&i| rest[..i].parse::<f64>().is_ok())
            .last()
            .ok_or_else(|| format!("`{}`: expected a number at `{rest}`", self.text))?;
        self.at += len;
        Ok(rest[..len].parse().expect("checked above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_convert_to_si_and_check_their_dimension() {
        assert_eq!(parse_quantity("500", Dim::FORCE), Ok(500.0));
        assert_eq!(parse_quantity(" 500 N ", Dim::FORCE), Ok(500.0));
        assert_eq!(parse_quantity("1e-3 kg", Dim::MASS), Ok(1e-3));
        assert_eq!(parse_quantity("30 mm", Dim::LENGTH), Ok(0.03));
        assert_eq!(
            parse_quantity("-90 deg", Dim::ANGLE),
            Ok(-std::f64::consts::FRAC_PI_2)
        );
        assert_eq!(parse_quantity("2 g m^2", Dim::INERTIA), Ok(2e-3));
        assert_eq!(
            parse_quantity("0.05 N m s/rad", Dim::ROTARY_DAMPING),
            Ok(0.05)
        );
        assert_eq!(
            parse_quantity("0.05 N*m*s/rad", Dim::ROTARY_DAMPING),
            Ok(0.05)
        );
        let e = parse_quantity("5 m", Dim::MASS).unwrap_err();
        assert!(
            e.contains("expected a mass (kg), found a length (m)"),
            "{e}"
        );
        assert_eq!(
            parse_quantity("2 * pi / 4 rad", Dim::ANGLE),
            Ok(std::f64::consts::FRAC_PI_2)
        );
        assert_eq!(parse_quantity("(1 + 2)^2 / 3 cm", Dim::LENGTH), Ok(0.03));
        assert_eq!(parse_quantity("-2^2", Dim::NONE), Ok(-4.0));
        assert_eq!(parse_quantity("2^-1 s", Dim::TIME), Ok(0.5));
        assert!(parse_quantity("five", Dim::MASS)
            .unwrap_err()
            .contains("number"));
        assert!(parse_quantity("(2 m", Dim::LENGTH)
            .unwrap_err()
            .contains("missing `)`"));
        assert!(parse_quantity("2 )", Dim::LENGTH)
            .unwrap_err()
            .contains("unexpected"));
        assert!(parse_quantity(&"(".repeat(100), Dim::NONE)
            .unwrap_err()
            .contains("nested"));
        assert!(parse_quantity("5 kgs", Dim::MASS)
            .unwrap_err()
            .contains("not a unit"));
        assert!(parse_quantity("nan", Dim::MASS)
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_quantity("inf N", Dim::FORCE)
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_quantity("1e999", Dim::FORCE)
            .unwrap_err()
            .contains("finite"));
        assert!(parse_quantity("5 m^99", Dim::LENGTH)
            .unwrap_err()
            .contains("power"));
        assert!(parse_quantity("5 m/", Dim::LENGTH).is_err());
    }
}
