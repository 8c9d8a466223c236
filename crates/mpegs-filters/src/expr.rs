//! A small evaluator for ffmpeg's arithmetic expressions (`iw/2`, `val*1.5`,
//! `negval`, `floor((val+1)/2)`), in double precision as libavutil evaluates them.
//!
//! Supported: numbers, named variables, `+ - * /`, unary minus, parentheses and the
//! one-argument functions `floor`, `ceil`, `trunc`, `round`, `abs`. Functions with
//! several arguments would need `\,` escaping inside a `-vf` chain and are not
//! supported.

/// Evaluates `text` with the given variables.
pub fn eval(text: &str, vars: &[(&str, f64)]) -> Result<f64, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        vars,
    };
    let v = p.sum()?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected '{}' in '{text}'", &text[p.i..]));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    vars: &'a [(&'a str, f64)],
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let rhs = self.product()?;
            v = if op == b'+' { v + rhs } else { v - rhs };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.unary()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            let rhs = self.unary()?;
            v = if op == b'*' { v * rhs } else { v / rhs };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                Ok(-self.unary()?)
            }
            Some(b'+') => {
                self.i += 1;
                self.unary()
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let v = self.sum()?;
                self.expect(b')')?;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.name(),
            Some(c) => Err(format!("unexpected '{}'", c as char)),
            None => Err("expression ends too early".into()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}'", c as char))
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
        text.parse().map_err(|_| format!("bad number '{text}'"))
    }

    fn name(&mut self) -> Result<f64, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        let name = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
        if self.peek() == Some(b'(') {
            self.i += 1;
            let arg = self.sum()?;
            self.expect(b')')?;
            return match name {
                "floor" => Ok(arg.floor()),
                "ceil" => Ok(arg.ceil()),
                "trunc" => Ok(arg.trunc()),
                "round" => Ok(arg.round()),
                "abs" => Ok(arg.abs()),
                _ => Err(format!("unknown function '{name}'")),
            };
        }
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let known: Vec<&str> = self.vars.iter().map(|(n, _)| *n).collect();
                format!("unknown name '{name}' (known: {})", known.join(", "))
            })
    }
}

/// Evaluates an option's expression and truncates it to an integer as ffmpeg's
/// `(int)` cast does, with a clear error naming the filter and option.
pub fn eval_int(
    filter: &str,
    option: &str,
    text: &str,
    vars: &[(&str, f64)],
) -> Result<i64, crate::FilterError> {
    let invalid = |reason: String| crate::FilterError::InvalidValue {
        filter: filter.into(),
        option: option.into(),
        value: text.into(),
        reason,
    };
    let v = eval(text, vars).map_err(invalid)?;
    if !v.is_finite() || v.abs() > 1e9 {
        return Err(invalid(format!("evaluates to {v}")));
    }
    Ok(v.trunc() as i64)
}

/// Checks that an expression parses (with every variable set to 1), so bad options
/// fail when the chain is parsed rather than when it meets a frame.
pub fn check(
    filter: &str,
    option: &str,
    text: &str,
    names: &[&str],
) -> Result<String, crate::FilterError> {
    let vars: Vec<(&str, f64)> = names.iter().map(|n| (*n, 1.0)).collect();
    eval(text, &vars).map_err(|reason| crate::FilterError::InvalidValue {
        filter: filter.into(),
        option: option.into(),
        value: text.into(),
        reason,
    })?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_with_precedence_and_variables() {
        let vars = [("val", 100.0), ("negval", 155.0)];
        assert_eq!(eval("val*2", &vars), Ok(200.0));
        assert_eq!(eval("1+2*3", &vars), Ok(7.0));
        assert_eq!(eval("(1+2)*3", &vars), Ok(9.0));
        assert_eq!(eval("-val/3", &vars), Ok(-100.0 / 3.0));
        assert_eq!(eval("negval", &vars), Ok(155.0));
        assert_eq!(eval("floor(val/3)+0.5", &vars), Ok(33.5));
        assert_eq!(eval(" val - 1 ", &vars), Ok(99.0));
    }

    #[test]
    fn reports_errors() {
        assert!(eval("val*", &[("val", 1.0)]).is_err());
        assert!(eval("foo", &[("val", 1.0)])
            .unwrap_err()
            .contains("unknown name"));
        assert!(eval("sin(1)", &[])
            .unwrap_err()
            .contains("unknown function"));
        assert!(eval("(1", &[]).is_err());
        assert!(eval("1 2", &[]).is_err());
    }
}
