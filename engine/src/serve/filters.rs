//! Docker's `filters` query parameter: JSON mapping a filter name to its values, either
//! `{"status":["running"]}` or the older `{"status":{"running":true}}`.

use super::error::{ApiError, ApiResult};
use super::http::Query;

/// The filters of a request, as (name, values); empty when there are none.
pub fn parse(q: &Query) -> ApiResult<Vec<(String, Vec<String>)>> {
    let Some(text) = q.get("filters").filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let bad = |why: String| ApiError::bad_request(format!("invalid filters {text:?}: {why}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad("not an object".into()));
    };
    let mut out = Vec::new();
    for (name, values) in map {
        let values = match values {
            serde_json::Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(bad(format!("{name}: {other} is not a string"))),
                })
                .collect::<ApiResult<Vec<_>>>()?,
            serde_json::Value::Object(o) => o
                .into_iter()
                .filter(|(_, on)| on == &serde_json::Value::Bool(true))
                .map(|(k, _)| k)
                .collect(),
            other => return Err(bad(format!("{name}: {other} is not a list"))),
        };
        out.push((name, values));
    }
    Ok(out)
}

/// Refuses filters other than `known` (400 naming it), so a filter berth ignores never
/// widens a listing silently.
pub fn only(filters: &[(String, Vec<String>)], known: &[&str], what: &str) -> ApiResult<()> {
    match filters.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        Some((n, _)) => Err(ApiError::bad_request(format!(
            "invalid filter '{n}' for {what} (berth takes {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_parse_and_garbage_is_400() {
        let q = Query::parse(Some(
            r#"filters={"status":["running","exited"],"name":{"web":true}}"#,
        ));
        let mut f = parse(&q).expect("parses");
        f.sort();
        assert_eq!(
            f,
            [
                ("name".to_string(), vec!["web".to_string()]),
                (
                    "status".to_string(),
                    vec!["running".to_string(), "exited".to_string()]
                ),
            ]
        );
        assert!(only(&f, &["status"], "containers").is_err());
        for bad in [
            r#"filters=[1]"#,
            r#"filters={"a":[1]}"#,
            r#"filters={"a":"x"}"#,
            "filters={",
        ] {
            assert!(parse(&Query::parse(Some(bad))).is_err(), "{bad}");
        }
    }
}
