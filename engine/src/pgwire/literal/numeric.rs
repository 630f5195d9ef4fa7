//! `numeric` parameters: Postgres's base-10000 binary form and its text form, as ksqlDB
//! DECIMAL literals (`123.45`; NaN and the infinities, which a DECIMAL cannot hold, as DOUBLE).

use super::{Lit, LiteralError};

pub(super) fn decimal(negative: bool, whole: &str, fraction: &str) -> String {
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let is_zero = whole == "0" && fraction.bytes().all(|d| d == b'0');
    let sign = if negative && !is_zero { " -" } else { "" };
    if !fraction.is_empty() {
        return format!("{sign}{whole}.{fraction}");
    }
    if format!("{}{whole}", sign.trim()).parse::<i64>().is_ok() {
        return format!("{sign}{whole}");
    }
    format!(
        "CAST('{}{whole}' AS DECIMAL({}, 0))",
        sign.trim(),
        whole.len()
    )
}

/// Postgres's binary numeric: ndigits, weight, sign, dscale (i16/u16 each), then ndigits
/// base-10000 digits, the first one weighing 10000^weight.
pub(super) fn numeric_binary(b: &[u8]) -> Lit {
    let word = |i: usize| -> Option<u16> {
        b.get(2 * i..2 * i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
        (word(0), word(1), word(2), word(3))
    else {
        return Err(LiteralError::Binary(format!(
            "{} bytes for a numeric (its header takes 8)",
            b.len()
        )));
    };
    let ndigits = ndigits as i16;
    let weight = i32::from(weight as i16);
    if ndigits < 0 || b.len() != 8 + 2 * ndigits as usize {
        return Err(LiteralError::Binary(format!(
            "a numeric of {ndigits} digits takes {} bytes, not {}",
            8 + 2 * i32::from(ndigits).max(0),
            b.len()
        )));
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Ok("CAST('NaN' AS DOUBLE)".to_owned()),
        0xD000 => return Ok("CAST('Infinity' AS DOUBLE)".to_owned()),
        0xF000 => return Ok("CAST('-Infinity' AS DOUBLE)".to_owned()),
        other => {
            return Err(LiteralError::Binary(format!(
                "numeric sign {other:#06x} (0x0000, 0x4000, 0xC000, 0xD000 or 0xF000)"
            )));
        }
    };
    if dscale > 1000 {
        return Err(LiteralError::Binary(format!("numeric scale {dscale}")));
    }
    let mut digits = Vec::with_capacity(ndigits as usize);
    for i in 0..ndigits as usize {
        match word(4 + i) {
            Some(d) if d < 10_000 => digits.push(d),
            Some(d) => {
                return Err(LiteralError::Binary(format!(
                    "numeric digit {d} (base-10000 digits are 0 to 9999)"
                )));
            }
            None => return Err(LiteralError::Binary("a truncated numeric".to_owned())),
        }
    }
    // Digit group g (0-based from the first) weighs 10000^(weight - g).
    let group = |g: i32| -> u16 {
        usize::try_from(g)
            .ok()
            .and_then(|g| digits.get(g).copied())
            .unwrap_or(0)
    };
    let mut whole = String::new();
    for g in 0..=weight {
        whole.push_str(&format!("{:04}", group(g)));
    }
    let mut fraction = String::new();
    let mut g = weight + 1;
    while (fraction.len() as u16) < dscale {
        fraction.push_str(&format!("{:04}", group(g)));
        g += 1;
    }
    fraction.truncate(dscale as usize);
    Ok(decimal(negative, &whole, &fraction))
}

/// Postgres's text numeric: `-12.50`, `1e3`, `.5`, `NaN`, `Infinity`.
pub(super) fn numeric_text(t: &str) -> Option<String> {
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Some("CAST('NaN' AS DOUBLE)".to_owned()),
        "infinity" | "+infinity" | "inf" => return Some("CAST('Infinity' AS DOUBLE)".to_owned()),
        "-infinity" | "-inf" => return Some("CAST('-Infinity' AS DOUBLE)".to_owned()),
        _ => {}
    }
    let (negative, rest) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok().filter(|e| e.abs() <= 1000)?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // Move the point by the exponent.
    let digits = format!("{whole}{fraction}");
    let point = whole.len() as i32 + exponent;
    let (whole, fraction) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_owned(),
            digits[point as usize..].to_owned(),
        )
    };
    Some(decimal(negative, &whole, &fraction))
}

#[cfg(test)]
mod tests {
    use super::super::LiteralError;
    use super::super::test_support::{bin, ok, text};
    use pgwire::api::Type;

    /// Postgres's binary numeric of `digits` (base 10000) with `weight`, `sign` and `dscale`.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((digits.len() as i16).to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(dscale.to_be_bytes());
        for d in digits {
            out.extend(d.to_be_bytes());
        }
        out
    }

    #[test]
    fn binary_numerics_are_decimals() {
        // 12345.678: digit groups 1 2345 6780, weight 1, scale 3.
        assert_eq!(
            ok(bin(&Type::NUMERIC, &numeric(1, 0, 3, &[1, 2345, 6780]))),
            "12345.678"
        );
        assert_eq!(
            ok(bin(
                &Type::NUMERIC,
                &numeric(1, 0x4000, 3, &[1, 2345, 6780])
            )),
            " -12345.678"
        );
        // 0.0012: weight -1, group 12 (0.0012), scale 4.
        assert_eq!(ok(bin(&Type::NUMERIC, &numeric(-1, 0, 4, &[12]))), "0.0012");
        // 1000000 (100 * 10000^1, trailing zero group dropped), scale 0.
        assert_eq!(
            ok(bin(&Type::NUMERIC, &numeric(1, 0, 0, &[100]))),
            "1000000"
        );
        // Zero has no digits.
        assert_eq!(ok(bin(&Type::NUMERIC, &numeric(0, 0, 2, &[]))), "0.00");
        // Too big for BIGINT: stays a DECIMAL.
        assert_eq!(
            ok(bin(&Type::NUMERIC, &numeric(5, 0, 0, &[1, 0, 0, 0, 0, 0]))),
            "CAST('100000000000000000000' AS DECIMAL(21, 0))"
        );
        assert_eq!(
            ok(bin(&Type::NUMERIC, &numeric(0, 0xC000, 0, &[]))),
            "CAST('NaN' AS DOUBLE)"
        );
        assert!(matches!(
            bin(&Type::NUMERIC, &numeric(0, 0, 0, &[10_000])),
            Err(LiteralError::Binary(_))
        ));
        assert!(matches!(
            bin(&Type::NUMERIC, &[0, 1, 0]),
            Err(LiteralError::Binary(_))
        ));
        let mut truncated = numeric(0, 0, 0, &[1, 2]);
        truncated.pop();
        assert!(matches!(
            bin(&Type::NUMERIC, &truncated),
            Err(LiteralError::Binary(_))
        ));
    }

    #[test]
    fn text_numerics_are_decimals() {
        assert_eq!(ok(text(&Type::NUMERIC, "-12.50")), " -12.50");
        assert_eq!(ok(text(&Type::NUMERIC, ".5")), "0.5");
        assert_eq!(ok(text(&Type::NUMERIC, "1.5e3")), "1500");
        assert_eq!(ok(text(&Type::NUMERIC, "25e-3")), "0.025");
        assert_eq!(ok(text(&Type::NUMERIC, "-0")), "0");
        assert_eq!(ok(text(&Type::NUMERIC, "NaN")), "CAST('NaN' AS DOUBLE)");
        assert!(matches!(
            text(&Type::NUMERIC, "1.2.3"),
            Err(LiteralError::Text(_))
        ));
        assert!(matches!(
            text(&Type::NUMERIC, "-"),
            Err(LiteralError::Text(_))
        ));
    }
}
