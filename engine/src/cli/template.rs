//! docker's `--format` for every verb that prints objects (ps, images, network ls,
//! volume ls, stats, inspect): the subset of Go templates docker users type, evaluated
//! over each object as JSON, with docker/cli's formatter rules:
//! - `table ...`: a header row (the template run over the fields' column names, literal
//!   text kept), then one row per object, laid out by [`super::table::tabwrite`];
//!   `table` alone is the verb's default table;
//! - `json`: one JSON object per line (`{{json .}}`);
//! - anything else: the template per object, one line each, `\t` and `\n` expanded.
//!
//! Actions: `{{.}}`, `{{.Field}}`, `{{.A.B}}`, and the functions `json`, `upper`, `lower`,
//! `title`, `join .X "SEP"`, `truncate .X N`. A field the object lacks is an error in
//! docker's words (`template: :1:2: executing "" at <.Bogus>: can't evaluate field Bogus
//! in type ...`), as is a function docker's templates do not have.

use serde_json::{Map, Value};

/// A `--format` template that did not parse or could not be run on an object.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("failed to parse template: template: :{line}: {message}")]
    Parse { line: usize, message: String },
    #[error(
        "failed to execute template: template: :{line}:{col}: executing \"\" at <{path}>: {message}"
    )]
    Execute {
        line: usize,
        col: usize,
        path: String,
        message: String,
    },
}

/// What a verb prints for its `--format` value.
#[derive(Debug)]
pub enum Format {
    /// A header row, then the rows aligned in columns.
    Table(Template),
    /// The template per object, one line each.
    Lines(Template),
}

impl Format {
    /// `format` as the user gave it; `default_table` (a `table ...` template) when none
    /// is given or for `table` alone.
    pub fn parse(format: Option<&str>, default_table: &str) -> Result<Format, TemplateError> {
        let text = match format {
            None => default_table,
            Some(f) if f.trim() == "table" => default_table,
            Some(f) if f.trim() == "json" => "{{json .}}",
            Some(f) => f,
        };
        match text.strip_prefix("table") {
            Some(rest) => Ok(Format::Table(Template::parse(rest.trim_matches(' '))?)),
            None => Ok(Format::Lines(Template::parse(text.trim_matches(' '))?)),
        }
    }

    /// Prints `rows` (JSON objects): the header from `headers` (field -> column name)
    /// for a table.
    pub fn print(
        &self,
        rows: &[Value],
        headers: &[(&str, &str)],
        context: &str,
    ) -> Result<(), TemplateError> {
        print!("{}", self.render(rows, headers, context)?);
        Ok(())
    }

    /// The text [`Format::print`] prints.
    pub fn render(
        &self,
        rows: &[Value],
        headers: &[(&str, &str)],
        context: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let template = match self {
            Format::Table(t) | Format::Lines(t) => t,
        };
        if let Format::Table(t) = self {
            out.push_str(&t.header(headers));
            out.push('\n');
        }
        for row in rows {
            out.push_str(&template.execute(row, context)?);
            out.push('\n');
        }
        Ok(match self {
            Format::Table(_) => super::table::tabwrite(&out, super::table::MIN_WIDTH),
            Format::Lines(_) => out,
        })
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Action(Action),
}

#[derive(Debug, Clone)]
struct Action {
    func: Func,
    /// Field names after the dot; empty for `.` itself.
    path: Vec<String>,
    line: usize,
    /// Byte column (0-based, as Go counts) of the argument's dot.
    col: usize,
}

#[derive(Debug, Clone)]
enum Func {
    Print,
    Json,
    Upper,
    Lower,
    Title,
    Join(String),
    Truncate(usize),
}

impl Template {
    /// Parses `text` (`\t` and `\n` escapes expanded first, as docker does).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let inner_start = start + 2;
            let line = text[..offset + start].matches('\n').count() + 1;
            let Some(len) = rest[inner_start..].find("}}") else {
                return Err(TemplateError::Parse {
                    line,
                    message: "unclosed action".into(),
                });
            };
            let inner = &rest[inner_start..inner_start + len];
            let line_start = text[..offset + inner_start]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let base_col = offset + inner_start - line_start;
            pieces.push(Piece::Action(Action::parse(inner, line, base_col)?));
            offset += inner_start + len + 2;
            rest = &rest[inner_start + len + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// The template run over `value`; `context` names its type in errors
    /// (`*formatter.ContainerContext`, or "" for inspect's maps).
    pub fn execute(&self, value: &Value, context: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(a) => out.push_str(&a.execute(value, context)?),
            }
        }
        Ok(out)
    }

    /// The header row: each action replaced by its field's column name (the upper-cased
    /// field name when `headers` has none), literal text kept.
    pub fn header(&self, headers: &[(&str, &str)]) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(a) => {
                    let name = a.path.last().map_or("", String::as_str);
                    match headers.iter().find(|(k, _)| *k == name) {
                        Some((_, h)) => out.push_str(h),
                        None => out.push_str(&name.to_uppercase()),
                    }
                }
            }
        }
        out
    }
}

impl Action {
    fn parse(inner: &str, line: usize, base_col: usize) -> Result<Action, TemplateError> {
        let parse_err = |message: String| TemplateError::Parse { line, message };
        let lead = inner.len() - inner.trim_start().len();
        let words = split_words(inner.trim()).map_err(parse_err)?;
        let Some((first, args)) = words.split_first() else {
            return Err(parse_err("missing value for command".into()));
        };
        let (func, arg, extra) = if first.starts_with('.') {
            (None, first.as_str(), args)
        } else {
            let Some((arg, extra)) = args.split_first() else {
                return Err(parse_err(format!(
                    "wrong number of args for {first}: want 1 got 0"
                )));
            };
            (Some(first.as_str()), arg.as_str(), extra)
        };
        if !arg.starts_with('.') {
            return Err(parse_err(format!(
                "berth's templates take a field (.Name) here, not {arg:?}"
            )));
        }
        let arg_col = base_col + lead + inner.trim_start().find(arg).unwrap_or(0);
        let one_extra = |name: &str| match extra {
            [x] => Ok(x.clone()),
            _ => Err(parse_err(format!(
                "wrong number of args for {name}: want 2 got {}",
                extra.len() + 1
            ))),
        };
        let func = match func {
            None if extra.is_empty() => Func::Print,
            None => {
                return Err(parse_err(format!(
                    "can't give argument to non-function {arg}"
                )));
            }
            Some("json") => Func::Json,
            Some("upper") => Func::Upper,
            Some("lower") => Func::Lower,
            Some("title") => Func::Title,
            Some("join") => Func::Join(unquote(&one_extra("join")?)),
            Some("truncate") => {
                let n = one_extra("truncate")?;
                Func::Truncate(n.parse().map_err(|_| {
                    parse_err(format!("truncate takes a number of characters, not {n}"))
                })?)
            }
            Some(other) => return Err(parse_err(format!("function {other:?} not defined"))),
        };
        if matches!(func, Func::Json | Func::Upper | Func::Lower | Func::Title) && !extra.is_empty()
        {
            return Err(parse_err("wrong number of args: want 1".into()));
        }
        let path: Vec<String> = arg
            .split('.')
            .skip(1)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Action {
            func,
            path,
            line,
            col: arg_col,
        })
    }

    fn execute(&self, root: &Value, context: &str) -> Result<String, TemplateError> {
        let mut v = root;
        // Where each component starts, for Go's column of the failing one.
        let mut col = self.col;
        for (i, key) in self.path.iter().enumerate() {
            let next = match v {
                Value::Object(m) => m.get(key),
                _ => None,
            };
            match next {
                Some(n) => v = n,
                None => {
                    let message = match v {
                        Value::Object(_) if i == 0 && !context.is_empty() => {
                            format!("can't evaluate field {key} in type {context}")
                        }
                        Value::Object(_) => format!("map has no entry for key {key:?}"),
                        other => format!("can't evaluate field {key} in type {}", go_type(other)),
                    };
                    return Err(TemplateError::Execute {
                        line: self.line,
                        col,
                        path: format!(".{}", self.path.join(".")),
                        message,
                    });
                }
            }
            col += key.len() + 1;
        }
        Ok(match &self.func {
            Func::Print => go_print(v),
            Func::Json => v.to_string(),
            Func::Upper => go_print(v).to_uppercase(),
            Func::Lower => go_print(v).to_lowercase(),
            Func::Title => title(&go_print(v)),
            Func::Join(sep) => match v {
                Value::Array(items) => items.iter().map(go_print).collect::<Vec<_>>().join(sep),
                other => go_print(other),
            },
            Func::Truncate(n) => go_print(v).chars().take(*n).collect(),
        })
    }
}

/// Words of an action: bare words and "quoted strings" (kept with their quotes).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' || c == '`' {
            word.push(c);
            chars.next();
            let mut closed = false;
            while let Some(d) = chars.next() {
                word.push(d);
                if d == '\\' && c == '"' {
                    if let Some(e) = chars.next() {
                        word.push(e);
                    }
                } else if d == c {
                    closed = true;
                    break;
                }
            }
            if !closed {
                return Err("unterminated quoted string".into());
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                word.push(d);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}

/// A Go string literal's text (`"a\tb"` -> a, tab, b; `` `raw` `` as is).
fn unquote(word: &str) -> String {
    if let Some(raw) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
        return raw.to_string();
    }
    serde_json::from_str::<String>(word).unwrap_or_else(|_| word.trim_matches('"').to_string())
}

/// How Go's fmt prints a value decoded from JSON: strings bare, `[a b]`, `map[k:v]`,
/// `<nil>`.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_print).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Go's name for a JSON value's type, for errors.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "interface {}",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// docker's `title`: each word's first letter upper-cased.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if at_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_start = !c.is_alphanumeric();
    }
    out
}

/// A row as a JSON object from `(field, text)` pairs (the listing verbs' fields are all
/// strings, as docker's `--format json` prints them).
pub fn row(fields: impl IntoIterator<Item = (&'static str, String)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PS: &str = "*formatter.ContainerContext";

    fn rows() -> Vec<Value> {
        vec![
            json!({"Names": "clock", "Image": "busybox", "ID": "f01cc4f1c5ba"}),
            json!({"Names": "a-much-longer-name", "Image": "alpine", "ID": "0123456789ab"}),
        ]
    }

    const HEADERS: &[(&str, &str)] = &[
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("ID", "CONTAINER ID"),
    ];

    fn render(format: &str) -> Result<String, TemplateError> {
        Format::parse(Some(format), "table {{.ID}}\t{{.Names}}")?.render(&rows(), HEADERS, PS)
    }

    #[test]
    fn a_table_header_follows_the_users_columns_and_text() {
        // docker 28 over berth serve printed these (`docker ps --format ...`).
        assert_eq!(
            render("table {{.Names}}\\t{{.Image}}").expect("table"),
            "NAMES                IMAGE\nclock                busybox\na-much-longer-name   alpine\n"
        );
        assert_eq!(
            render("table {{.Names}}: {{.Image}}").expect("table"),
            "NAMES: IMAGE\nclock: busybox\na-much-longer-name: alpine\n"
        );
        assert_eq!(
            render("table").expect("default"),
            "CONTAINER ID   NAMES\nf01cc4f1c5ba   clock\n0123456789ab   a-much-longer-name\n"
        );
    }

    #[test]
    fn lines_keep_literal_text_and_tabs() {
        assert_eq!(
            render("{{.Names}}: {{ .Image }}\\t{{upper .ID}}").expect("lines"),
            "clock: busybox\tF01CC4F1C5BA\na-much-longer-name: alpine\t0123456789AB\n"
        );
        assert_eq!(
            render("json").expect("json"),
            "{\"ID\":\"f01cc4f1c5ba\",\"Image\":\"busybox\",\"Names\":\"clock\"}\n\
             {\"ID\":\"0123456789ab\",\"Image\":\"alpine\",\"Names\":\"a-much-longer-name\"}\n"
        );
    }

    #[test]
    fn an_unknown_field_or_function_is_dockers_error() {
        assert_eq!(
            render("{{.Bogus}}").expect_err("bogus").to_string(),
            "failed to execute template: template: :1:2: executing \"\" at <.Bogus>: can't evaluate field Bogus in type *formatter.ContainerContext"
        );
        assert_eq!(
            render("{{.Names.Bogus}}").expect_err("bogus").to_string(),
            "failed to execute template: template: :1:8: executing \"\" at <.Names.Bogus>: can't evaluate field Bogus in type string"
        );
        assert_eq!(
            render("{{foo .Names}}").expect_err("foo").to_string(),
            "failed to parse template: template: :1: function \"foo\" not defined"
        );
    }

    #[test]
    fn inspect_documents_nested_fields_json_and_join() {
        let doc = json!({"Name": "/clock", "State": {"ExitCode": 0, "Running": true},
            "Config": {"Cmd": ["sleep", "1000"], "Labels": {}}});
        let t = Template::parse(
            "{{.State.ExitCode}} {{.Name}} {{json .Config.Cmd}} {{json .State.Running}}|{{join .Config.Cmd \",\"}}|{{.Config.Cmd}}",
        )
        .expect("parse");
        assert_eq!(
            t.execute(&doc, "").expect("run"),
            "0 /clock [\"sleep\",\"1000\"] true|sleep,1000|[sleep 1000]"
        );
        let bogus = Template::parse("{{.State.ExitCode}} {{.Name}} {{.Bogus}}").expect("parse");
        assert_eq!(
            bogus.execute(&doc, "").expect_err("bogus").to_string(),
            "failed to execute template: template: :1:32: executing \"\" at <.Bogus>: map has no entry for key \"Bogus\""
        );
    }
}
