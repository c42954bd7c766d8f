//! Sizes for people, as docker prints them (its `go-units` package): decimal units with
//! three significant digits (`4.26MB`). Ages in words (`2 minutes ago`) are the engine's
//! (`berth_engine::ops::display`), shared with `ps`.

const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// `bytes` as `docker images` prints SIZE: `HumanSizeWithPrecision(size, 3)`.
pub fn human_size(bytes: u64) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g(size, 3), UNITS[unit])
}

/// Go's `%.<precision>g` for the non-negative values sizes have.
fn format_g(value: f64, precision: i32) -> String {
    if value == 0.0 {
        return "0".into();
    }
    // Round to `precision` significant digits first: the exponent is that of the rounded
    // value (999.9 -> 1e+03 with 3 digits, as Go prints it).
    let exp = value.log10().floor() as i32;
    let scale = 10f64.powi(precision - 1 - exp);
    let rounded = (value * scale).round() / scale;
    let exp = rounded.log10().floor() as i32;
    if exp < -4 || exp >= precision {
        let mantissa = rounded / 10f64.powi(exp);
        let digits = (precision - 1).max(0) as usize;
        let m = trim_zeros(format!("{mantissa:.digits$}"));
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (precision - 1 - exp).max(0) as usize;
    trim_zeros(format!("{rounded:.decimals$}"))
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_docker_images_does() {
        for (bytes, want) in [
            (0, "0B"),
            (123, "123B"),
            (1234, "1.23kB"),
            (4_261_234, "4.26MB"),
            (4_200_000, "4.2MB"),
            (10_000_000, "10MB"),
            (999_999, "1e+03kB"),
            (1_240_000_000, "1.24GB"),
        ] {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }
}
