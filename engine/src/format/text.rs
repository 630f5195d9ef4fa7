//! Number and bytes text forms that must match ksqlDB (Java) character for character:
//! `Double.toString`, `BigDecimal` parsing with ksqlDB's "fit without rounding" rule and
//! `toPlainString`, and base64 for BYTES.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Formats a double as Java's `Double.toString` does (which is what Jackson writes for a JSON
/// number and what CSV gets): `1.0`, `0.001`, `1.0E7`, `1.234E-5`, `NaN`, `Infinity`.
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    // `{:e}` gives the shortest digits that round-trip, like Java 19+, as `d.ddde<exp>`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if value < 0.0 { "-" } else { "" };
    if (-3..7).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let (int_part, frac_part) = if digits.len() > int_len {
                (digits[..int_len].to_string(), digits[int_len..].to_string())
            } else {
                (format!("{digits:0<int_len$}"), "0".to_string())
            };
            format!("{sign}{int_part}.{frac_part}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

/// Parses decimal text (`-12.5`, `.12`, `1E+2`, `+3`) into an unscaled value at `scale`,
/// refusing values that would need rounding or have more than `precision - scale` integer
/// digits, as ksqlDB's `DecimalUtil.ensureFit` does.
pub fn parse_decimal(text: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let invalid = || format!("Invalid decimal '{text}'");
    let trimmed = text.trim();
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (number, exponent) = match body.find(['e', 'E']) {
        Some(i) => (
            &body[..i],
            body[i + 1..].parse::<i32>().map_err(|_| invalid())?,
        ),
        None => (body, 0),
    };
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    // value = digits * 10^(exponent - frac_len)
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut value_scale = frac_part.len() as i32 - exponent;
    if value_scale < 0 {
        digits.push_str(&"0".repeat((-value_scale) as usize));
        value_scale = 0;
    }
    let target = i32::from(scale);
    if value_scale > target {
        let cut = (value_scale - target) as usize;
        let (kept, dropped) = digits.split_at(digits.len().saturating_sub(cut));
        if dropped.bytes().any(|b| b != b'0') {
            return Err(format!(
                "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without rounding.",
                trimmed
            ));
        }
        digits = kept.to_string();
    } else {
        digits.push_str(&"0".repeat((target - value_scale) as usize));
    }
    let significant = digits.trim_start_matches('0');
    let int_digits = significant.len().saturating_sub(scale as usize);
    if significant.len() > usize::from(precision) || int_digits > usize::from(precision - scale) {
        return Err(format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} must \
             round to an absolute value less than 10^{}. Got {trimmed}",
            precision - scale
        ));
    }
    let unscaled: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| invalid())?
    };
    Ok(if negative { -unscaled } else { unscaled })
}

/// Formats an unscaled decimal as Java's `BigDecimal.toPlainString`: all `scale` fraction
/// digits are kept (`10.0000`), never an exponent.
pub fn plain_decimal(unscaled: i128, scale: u8) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

/// BYTES as text: standard base64 with padding, as ksqlDB writes them in JSON and DELIMITED.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Reads base64 text written by [`encode_base64`].
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| format!("Invalid base64 for BYTES: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1234.589), "1234.589");
        assert_eq!(java_double(-0.5), "-0.5");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(1.0e7), "1.0E7");
        assert_eq!(java_double(1234567.0), "1234567.0");
        assert_eq!(java_double(1.2345e-5), "1.2345E-5");
        assert_eq!(java_double(22026.465794806718), "22026.465794806718");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_double(100.0), "100.0");
    }

    #[test]
    fn decimals_parse_without_rounding() {
        assert_eq!(parse_decimal("12.0", 6, 4), Ok(120000));
        assert_eq!(parse_decimal(".12", 33, 16), Ok(1_200_000_000_000_000));
        assert_eq!(parse_decimal("-12345.12", 33, 16).map(|v| v < 0), Ok(true));
        assert_eq!(parse_decimal("1E+2", 5, 1), Ok(1000));
        assert_eq!(parse_decimal("10.100", 4, 2), Ok(1010));
        assert!(
            parse_decimal("10.123", 4, 2)
                .unwrap_err()
                .contains("without rounding")
        );
        assert!(
            parse_decimal("123.4", 4, 2)
                .unwrap_err()
                .contains("overflow")
        );
        assert!(parse_decimal("abc", 4, 2).is_err());
        assert!(parse_decimal("", 4, 2).is_err());
        assert_eq!(parse_decimal("0", 4, 2), Ok(0));
    }

    #[test]
    fn decimals_print_plain_with_full_scale() {
        assert_eq!(plain_decimal(100000, 4), "10.0000");
        assert_eq!(plain_decimal(12, 2), "0.12");
        assert_eq!(plain_decimal(-5, 3), "-0.005");
        assert_eq!(plain_decimal(42, 0), "42");
    }

    #[test]
    fn base64_round_trips() {
        let text = encode_base64(&[0, 1, 254, 255]);
        assert_eq!(text, "AAH+/w==");
        assert_eq!(decode_base64(&text).unwrap(), vec![0, 1, 254, 255]);
        assert!(decode_base64("***").is_err());
    }
}
