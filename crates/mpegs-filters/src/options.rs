//! ffmpeg-style option lists: `name=v1:v2:key=value`, positional values first,
//! matched against each filter's declared option order (with aliases).

use crate::FilterError;

/// One declared option of a filter.
#[derive(Debug)]
pub struct OptionSpec {
    /// Canonical name first, then aliases (e.g. `["w", "out_w"]`).
    pub names: &'static [&'static str],
    /// The default as ffmpeg documents it, or `None` when the option is required.
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// Option values resolved against a filter's spec, in declared order.
#[derive(Debug)]
pub struct Options {
    filter: &'static str,
    values: Vec<(&'static str, Option<String>)>,
}

impl Options {
    /// Parses the `args` part of `name=args` for a filter with `specs`.
    pub fn parse(
        filter: &'static str,
        specs: &'static [OptionSpec],
        args: Option<&str>,
    ) -> Result<Self, FilterError> {
        let mut values: Vec<(&'static str, Option<String>)> = specs
            .iter()
            .map(|s| (s.names[0], s.default.map(str::to_string)))
            .collect();
        let mut set = vec![false; specs.len()];
        let mut positional = 0usize;
        let mut seen_named = false;
        for item in args.into_iter().flat_map(|a| a.split(':')) {
            let item = item.trim();
            if item.is_empty() {
                return Err(FilterError::Syntax(format!("{filter}: empty option")));
            }
            let index = match item.split_once('=') {
                Some((key, value)) => {
                    seen_named = true;
                    let i = specs
                        .iter()
                        .position(|s| s.names.contains(&key.trim()))
                        .ok_or_else(|| FilterError::UnknownOption {
                            filter: filter.into(),
                            option: key.trim().into(),
                            known: specs
                                .iter()
                                .map(|s| s.names[0])
                                .collect::<Vec<_>>()
                                .join(", "),
                        })?;
                    values[i].1 = Some(value.trim().to_string());
                    i
                }
                None => {
                    if seen_named {
                        return Err(FilterError::Syntax(format!(
                            "{filter}: positional value '{item}' after a named option"
                        )));
                    }
                    if positional >= specs.len() {
                        return Err(FilterError::Syntax(format!(
                            "{filter}: too many values (takes at most {})",
                            specs.len()
                        )));
                    }
                    values[positional].1 = Some(item.to_string());
                    positional += 1;
                    positional - 1
                }
            };
            if set[index] {
                return Err(FilterError::Syntax(format!(
                    "{filter}: option '{}' given twice",
                    specs[index].names[0]
                )));
            }
            set[index] = true;
        }
        Ok(Self { filter, values })
    }

    fn raw(&self, name: &str) -> Result<&str, FilterError> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
            .ok_or_else(|| {
                FilterError::Syntax(format!("{}: option '{name}' is required", self.filter))
            })
    }

    /// The raw string of an option that has a value (given or default).
    pub fn string(&self, name: &str) -> Result<String, FilterError> {
        self.raw(name).map(str::to_string)
    }

    fn invalid(&self, name: &str, value: &str, reason: &str) -> FilterError {
        FilterError::InvalidValue {
            filter: self.filter.into(),
            option: name.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// An integer option. Expressions (`iw/2`) are refused with a clear message.
    pub fn int(&self, name: &str) -> Result<i64, FilterError> {
        let raw = self.raw(name)?;
        raw.parse::<i64>().map_err(|_| {
            self.invalid(
                name,
                raw,
                "expected an integer (ffmpeg expressions are not supported)",
            )
        })
    }

    /// A float option parsed as ffmpeg does (double, later narrowed by the filter).
    pub fn float(&self, name: &str, min: f64, max: f64) -> Result<f64, FilterError> {
        let raw = self.raw(name)?;
        let v: f64 = raw
            .parse()
            .map_err(|_| self.invalid(name, raw, "expected a number"))?;
        if !v.is_finite() || v < min || v > max {
            return Err(self.invalid(name, raw, &format!("must be between {min} and {max}")));
        }
        Ok(v)
    }

    /// A value chosen from named constants or their integer codes.
    pub fn choice(&self, name: &str, choices: &[(&str, i64)]) -> Result<i64, FilterError> {
        let raw = self.raw(name)?;
        if let Some((_, v)) = choices.iter().find(|(n, _)| *n == raw) {
            return Ok(*v);
        }
        match raw.parse::<i64>() {
            Ok(v) if choices.iter().any(|(_, c)| *c == v) => Ok(v),
            _ => Err(self.invalid(
                name,
                raw,
                &format!(
                    "expected one of {}",
                    choices
                        .iter()
                        .map(|(n, v)| format!("{n} ({v})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPECS: &[OptionSpec] = &[
        OptionSpec {
            names: &["w", "out_w"],
            default: None,
            help: "",
        },
        OptionSpec {
            names: &["h", "out_h"],
            default: Some("5"),
            help: "",
        },
        OptionSpec {
            names: &["x"],
            default: Some("0"),
            help: "",
        },
    ];

    #[test]
    fn positional_named_aliases_and_errors() {
        let o = Options::parse("t", SPECS, Some("3:x=7")).unwrap();
        assert_eq!(
            (
                o.int("w").unwrap(),
                o.int("h").unwrap(),
                o.int("x").unwrap()
            ),
            (3, 5, 7)
        );
        let o = Options::parse("t", SPECS, Some("out_w=9")).unwrap();
        assert_eq!(o.int("w").unwrap(), 9);
        assert!(matches!(
            Options::parse("t", SPECS, Some("q=1")),
            Err(FilterError::UnknownOption { .. })
        ));
        assert!(Options::parse("t", SPECS, Some("x=1:2")).is_err());
        assert!(Options::parse("t", SPECS, Some("1:2:3:4")).is_err());
        assert!(Options::parse("t", SPECS, Some("w=1:out_w=2")).is_err());
        assert!(Options::parse("t", SPECS, None).unwrap().int("w").is_err());
        let o = Options::parse("t", SPECS, Some("iw/2")).unwrap();
        assert!(o.int("w").unwrap_err().to_string().contains("expressions"));
    }
}
