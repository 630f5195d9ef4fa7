//! Decimal rounding for ROUND, TRUNC, CEIL and FLOOR.
//!
//! ksqlDB rounds a `DOUBLE` by first turning it into a `BigDecimal` through its shortest decimal
//! representation (`BigDecimal.valueOf`), so `ROUND(1.005, 2)` is `1.01` even though the binary
//! value is slightly below 1.005. [`round_double`] does the same with Rust's shortest
//! round-trip formatting. Ties go towards positive infinity (`HALF_UP` for positive numbers,
//! `HALF_DOWN` for negative ones), as ksqlDB's ROUND does.

/// How to drop digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nearest, ties towards positive infinity (ksqlDB's ROUND).
    HalfUp,
    /// Towards zero (TRUNC).
    Down,
    /// Towards positive infinity (CEIL).
    Ceiling,
    /// Towards negative infinity (FLOOR).
    Floor,
}

/// Rounds the unscaled decimal `value` (with `scale` digits after the point) to `places` decimal
/// places, returning an unscaled value with the same `scale`.
pub fn round_decimal(value: i128, scale: i8, places: i32, mode: Mode) -> i128 {
    let drop = i32::from(scale) - places;
    if drop <= 0 {
        return value;
    }
    let Some(factor) = u32::try_from(drop)
        .ok()
        .and_then(|d| 10_i128.checked_pow(d))
    else {
        return 0;
    };
    let (q, r) = (value.div_euclid(factor), value.rem_euclid(factor));
    let q = match mode {
        Mode::HalfUp => {
            if r >= factor - r {
                q + 1
            } else {
                q
            }
        }
        Mode::Floor => q,
        Mode::Ceiling => {
            if r > 0 {
                q + 1
            } else {
                q
            }
        }
        Mode::Down => {
            if value < 0 && r > 0 {
                q + 1
            } else {
                q
            }
        }
    };
    q.saturating_mul(factor)
}

/// Rounds a double to `places` decimal places through its shortest decimal representation.
pub fn round_double(x: f64, places: i32, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let text = format!("{x}");
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let negative = int_part.starts_with('-');
    let int_digits = int_part.trim_start_matches('-');
    // Shortest representations of finite doubles have at most 17 significant digits, but
    // very large or very small magnitudes print many zeros; fall back to float arithmetic
    // when the digits do not fit an i128.
    let digits = format!("{int_digits}{frac_part}");
    let scale = frac_part.len();
    match (digits.parse::<i128>(), i8::try_from(scale)) {
        (Ok(unscaled), Ok(scale)) if digits.len() <= 36 => {
            let unscaled = if negative { -unscaled } else { unscaled };
            let rounded = round_decimal(unscaled, scale, places, mode);
            format!("{}e-{}", rounded, scale).parse().unwrap_or(x)
        }
        _ => {
            let factor = 10f64.powi(places);
            let scaled = x * factor;
            let whole = match mode {
                Mode::HalfUp => (scaled + 0.5).floor(),
                Mode::Down => scaled.trunc(),
                Mode::Ceiling => scaled.ceil(),
                Mode::Floor => scaled.floor(),
            };
            whole / factor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ties_go_up() {
        assert_eq!(round_decimal(15, 1, 0, Mode::HalfUp), 20);
        assert_eq!(round_decimal(-15, 1, 0, Mode::HalfUp), -10);
        assert_eq!(round_decimal(-17, 1, 0, Mode::HalfUp), -20);
        assert_eq!(round_decimal(111, 0, -1, Mode::HalfUp), 110);
        assert_eq!(round_decimal(-12345678, 3, -2, Mode::HalfUp), -12300000);
        assert_eq!(round_decimal(-11, 1, 0, Mode::Down), -10);
        assert_eq!(round_decimal(-11, 1, 0, Mode::Floor), -20);
        assert_eq!(round_decimal(11, 1, 0, Mode::Ceiling), 20);
    }

    #[test]
    fn doubles_round_in_decimal() {
        assert_eq!(round_double(1.005, 2, Mode::HalfUp), 1.01);
        assert_eq!(round_double(12345.678, 2, Mode::HalfUp), 12345.68);
        assert_eq!(round_double(-12345.678, -1, Mode::HalfUp), -12350.0);
        assert_eq!(round_double(1.234567, 10, Mode::HalfUp), 1.234567);
        assert_eq!(round_double(-1.5, 0, Mode::HalfUp), -1.0);
        assert_eq!(round_double(12345.678, 1, Mode::Down), 12345.6);
        assert_eq!(round_double(1e300, 2, Mode::HalfUp), 1e300);
    }
}
