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
    fn rejects_wrong_units_with_examples() {
        let e = parse("3 parsecs", Dimension::Length).unwrap_err();
        assert!(e.0.contains("unknown unit \"parsecs\""), "{e}");
        assert!(e.0.contains("mm"), "{e}");
        let e = parse("0.2 mm/h", Dimension::Diffusion).unwrap_err();
        assert!(e.0.contains("mm^2/h"), "{e}");
        assert!(parse("fast", Dimension::Time).is_err());
    }
}
