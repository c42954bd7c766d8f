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

/// Columns as docker's tabwriter lays them out (`tabwriter.NewWriter(out, 10, 1, 3, ' ',
/// 0)` in docker/cli's formatter): each the widest cell plus 3 spaces, at least 10 wide
/// (`CONTAINER ID   IMAGE     COMMAND`), the last unpadded.
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
                let width = (widths[i] + 3).max(10);
                s.push_str(&" ".repeat(width - c.chars().count()));
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}
