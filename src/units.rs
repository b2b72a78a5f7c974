//! Quantities with units, as a person writes them in a scenario ("14 d", "0.5 mm",
//! "0.2 mm^2/h"), resolved to exoderm's internal units: **millimetres and hours**.
//!
//! Everything inside the engine is in mm and h so that a diffusion coefficient, a rate and a
//! time step can be combined without conversions; only this module knows other units.

/// A unit-parsing failure, phrased so the caller can append the file and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// What kind of quantity a field holds; decides the accepted units and the bare-number unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Resolved to mm.
    Length,
    /// Resolved to hours.
    Time,
    /// Resolved to mm²/h.
    Diffusion,
    /// Resolved to 1/h ("0.5 /d", "2 per day", "1e-3 1/s").
    Rate,
    /// Resolved to mm/h ("20 um/h", "0.5 mm/d").
    Speed,
}

impl Dimension {
    fn examples(self) -> &'static str {
        match self {
            Dimension::Length => "\"0.5 mm\", \"20 um\", \"1.2 cm\" (a bare number means mm)",
            Dimension::Time => {
                "\"30 s\", \"10 min\", \"2 h\", \"14 d\", \"3 w\", \"30 y\" (a bare number means hours)"
            }
            Dimension::Diffusion => {
                "\"0.2 mm^2/h\", \"6.6 um^2/s\", \"1e-6 cm^2/s\", \"0.5 mm^2/d\" (a bare number means mm^2/h)"
            }
            Dimension::Rate => "\"0.5 /d\", \"2 per h\", \"1e-3 1/s\" (a bare number means 1/h)",
            Dimension::Speed => "\"20 um/h\", \"0.5 mm/d\" (a bare number means mm/h)",
        }
    }

    /// The internal unit, as written in run reports and the app.
    pub fn internal(self) -> &'static str {
        match self {
            Dimension::Length => "mm",
            Dimension::Time => "h",
            Dimension::Diffusion => "mm^2/h",
            Dimension::Rate => "1/h",
            Dimension::Speed => "mm/h",
        }
    }
}

fn length_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "mm" => 1.0,
        "um" | "µm" | "μm" | "micron" | "microns" => 1e-3,
        "nm" => 1e-6,
        "cm" => 10.0,
        "m" => 1000.0,
        _ => return None,
    })
}

fn time_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0 / 3_600_000.0,
        "s" | "sec" | "second" | "seconds" => 1.0 / 3600.0,
        "min" | "minute" | "minutes" => 1.0 / 60.0,
        "h" | "hr" | "hour" | "hours" => 1.0,
        "d" | "day" | "days" => 24.0,
        "w" | "wk" | "week" | "weeks" => 24.0 * 7.0,
        // Julian year: the convention for ageing over decades.
        "y" | "yr" | "year" | "years" => 24.0 * 365.25,
        _ => return None,
    })
}

fn diffusion_factor(unit: &str) -> Option<f64> {
    let compact: String = unit.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.replace('²', "^2");
    let (len, time) = compact.split_once('/')?;
    let len = len.strip_suffix("^2")?;
    let l = length_factor(len)?;
    let t = time_factor(time)?;
    Some(l * l / t)
}

fn rate_factor(unit: &str) -> Option<f64> {
    let per = unit
        .strip_prefix("1/")
        .or_else(|| unit.strip_prefix('/'))
        .or_else(|| unit.strip_prefix("per "))?;
    Some(1.0 / time_factor(per.trim())?)
}

fn speed_factor(unit: &str) -> Option<f64> {
    let compact: String = unit.chars().filter(|c| !c.is_whitespace()).collect();
    let (len, time) = compact.split_once('/')?;
    Some(length_factor(len)? / time_factor(time)?)
}

/// A parameter's value as written: a bare number (kept as is, in whatever units the model's
/// expressions expect) or a quantity of any dimension exoderm knows, converted to internal
/// units. Returns the value and, for a quantity, its dimension.
pub fn parse_any(text: &str) -> Result<(f64, Option<Dimension>), UnitError> {
    let dims = [
        Dimension::Time,
        Dimension::Rate,
        Dimension::Length,
        Dimension::Diffusion,
        Dimension::Speed,
    ];
    // A bare number parses under every dimension; with a unit, at most one accepts it.
    if let Ok(v) = text.trim().parse::<f64>() {
        return Ok((v, None));
    }
    for dim in dims {
        if let Ok(v) = parse(text, dim) {
            return Ok((v, Some(dim)));
        }
    }
    Err(UnitError(format!(
        "\"{}\" is not a number or a quantity with a unit exoderm knows; write a number, or e.g. \"30 min\" (time), \"0.5 /d\" (rate), \"20 um\" (length), \"0.2 mm^2/h\" (diffusion), \"10 um/h\" (speed)",
        text.trim()
    )))
}

/// Parses `text` as a quantity of `dim`, returning it in internal units (mm, h, mm²/h).
pub fn parse(text: &str, dim: Dimension) -> Result<f64, UnitError> {
    let text = text.trim();
    let split = text
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '+'
                || c == '-'
                || ((c == 'e' || c == 'E')
                    && text[i + 1..]
                        .starts_with(|n: char| n.is_ascii_digit() || n == '-' || n == '+')))
        })
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let value: f64 = num.trim().parse().map_err(|_| {
        UnitError(format!(
            "\"{text}\" does not start with a number; write e.g. {}",
            dim.examples()
        ))
    })?;
    if !value.is_finite() {
        return Err(UnitError(format!("\"{text}\" is not a finite number")));
    }
    let unit = unit.trim();
    if unit.is_empty() {
        return Ok(value);
    }
    let factor = match dim {
        Dimension::Length => length_factor(unit),
        Dimension::Time => time_factor(unit),
        Dimension::Diffusion => diffusion_factor(unit),
        Dimension::Rate => rate_factor(unit),
        Dimension::Speed => speed_factor(unit),
    };
    factor.map(|f| value * f).ok_or_else(|| {
        UnitError(format!(
            "unknown unit \"{unit}\" in \"{text}\"; write e.g. {}",
            dim.examples()
        ))
    })
}

/// A time in hours, written back in the unit a person would use for it (for messages, the
/// GUI clock and reports).
pub fn format_time(hours: f64) -> String {
    let a = hours.abs();
    if a >= 24.0 * 365.25 * 2.0 {
        format!("{:.3} y", hours / (24.0 * 365.25))
    } else if a >= 48.0 {
        format!("{:.3} d", hours / 24.0)
    } else if a >= 1.0 || a == 0.0 {
        format!("{hours:.4} h")
    } else if a >= 1.0 / 60.0 {
        format!("{:.3} min", hours * 60.0)
    } else {
        format!("{:.4} s", hours * 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_to_mm_and_hours() {
        assert_eq!(parse("0.5 mm", Dimension::Length).unwrap(), 0.5);
        assert!((parse("20 um", Dimension::Length).unwrap() - 0.02).abs() < 1e-15);
        assert_eq!(parse("14 d", Dimension::Time).unwrap(), 336.0);
        assert_eq!(parse("30 min", Dimension::Time).unwrap(), 0.5);
        assert_eq!(parse("2", Dimension::Time).unwrap(), 2.0);
        assert_eq!(parse("1e-3h", Dimension::Time).unwrap(), 1e-3);
        // 1 um^2/s = 1e-6 mm^2 per (1/3600) h = 3.6e-3 mm^2/h
        let d = parse("1 um^2/s", Dimension::Diffusion).unwrap();
        assert!((d - 3.6e-3).abs() < 1e-15, "{d}");
        assert_eq!(parse("0.2 mm^2/h", Dimension::Diffusion).unwrap(), 0.2);
        assert!((parse("2.4 mm²/d", Dimension::Diffusion).unwrap() - 0.1).abs() < 1e-15);
    }

    #[test]
    fn rates_speeds_and_any_dimension() {
        assert_eq!(parse("0.5 /d", Dimension::Rate).unwrap(), 0.5 / 24.0);
        assert_eq!(parse("2 per h", Dimension::Rate).unwrap(), 2.0);
        assert_eq!(parse("1 1/min", Dimension::Rate).unwrap(), 60.0);
        assert_eq!(parse("24 um/h", Dimension::Speed).unwrap(), 0.024);
        assert_eq!(parse_any("30 min").unwrap(), (0.5, Some(Dimension::Time)));
        assert_eq!(
            parse_any("0.5 /d").unwrap(),
            (0.5 / 24.0, Some(Dimension::Rate))
        );
        assert_eq!(parse_any("20 um").unwrap(), (0.02, Some(Dimension::Length)));
        let (d, dim) = parse_any("2.4 mm^2/d").unwrap();
        assert!((d - 0.1).abs() < 1e-15 && dim == Some(Dimension::Diffusion));
        let (v, dim) = parse_any("0.24 mm/d").unwrap();
        assert!((v - 0.01).abs() < 1e-15 && dim == Some(Dimension::Speed));
        assert_eq!(parse_any(" 3.5 ").unwrap(), (3.5, None));
        let e = parse_any("3 furlongs").unwrap_err();
        assert!(e.0.contains("\"3 furlongs\" is not a number"), "{e}");
    }

    #[test]
    fn rejects_wrong_units_with_examples() {
        let e = parse("3 parsecs", Dimension::Length).unwrap_err();
        assert!(e.0.contains("unknown unit \"parsecs\""), "{e}");
        assert!(e.0.contains("mm"), "{e}");
        let e = parse("0.2 mm/h", Dimension::Diffusion).unwrap_err();
        assert!(e.0.contains("mm^2/h"), "{e}");
        assert!(parse("fast", Dimension::Time).is_err());
    }
}
