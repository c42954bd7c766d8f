//! Output shared by the listing verbs (`ps`, `images`): docker's tables and its
//! `--format '{{.Field}}'` templates.

/// Fills `{{.Field}}` (spaces inside the braces allowed, `\t` and `\n` escapes).
pub fn render(template: &str, fields: &[(&'static str, String)]) -> String {
    let mut out = template.replace("\\t", "\t").replace("\\n", "\n");
    for (k, v) in fields {
        for pat in [format!("{{{{.{k}}}}}"), format!("{{{{ .{k} }}}}")] {
            out = out.replace(&pat, v);
        }
    }
    out
}

/// Columns padded to the widest cell plus 3 spaces (docker's tabwriter), the last unpadded.
pub fn print_table(header: &[String], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 3));
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}
