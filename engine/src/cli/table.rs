//! Columns as docker lays out its tables: Go's text/tabwriter with docker/cli's settings
//! (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`): tab-terminated cells are padded to
//! their column block's widest cell plus 3 spaces, at least 10 wide; a line's last cell
//! is written as it is. The text comes from [`super::template`].

/// A column's minimum width in docker/cli's formatter (ps, images, ...).
pub const MIN_WIDTH: usize = 10;
/// `docker top`'s minimum column width (its own tabwriter).
pub const TOP_MIN_WIDTH: usize = 20;
/// Spaces after a column's widest cell (docker's padding).
const PADDING: usize = 3;

/// `text` (lines of tab-separated cells) aligned as Go's tabwriter aligns it: a column
/// block is a run of consecutive lines that have a tab-terminated cell in that column.
/// Columns are at least `min_width` wide.
pub fn tabwrite(text: &str, min_width: usize) -> String {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    format(&lines, min_width, &mut Vec::new(), 0, lines.len(), &mut out);
    out
}

/// Prints a header and rows as a table (`top`'s).
pub fn print_table(header: &[String], rows: &[Vec<String>], min_width: usize) {
    let mut text = header.join("\t");
    text.push('\n');
    for r in rows {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    print!("{}", tabwrite(&text, min_width));
}

/// Go's `(*Writer).format`: lays out lines `line0..line1` from column `widths.len()` on.
fn format(
    lines: &[Vec<&str>],
    min_width: usize,
    widths: &mut Vec<usize>,
    mut line0: usize,
    line1: usize,
    out: &mut String,
) {
    let column = widths.len();
    let has_cell = |line: &Vec<&str>| column + 1 < line.len();
    let mut this = line0;
    while this < line1 {
        if !has_cell(&lines[this]) {
            this += 1;
            continue;
        }
        write_lines(lines, widths, line0, this, out);
        line0 = this;
        let mut width = min_width;
        while this < line1 && has_cell(&lines[this]) {
            width = width.max(lines[this][column].chars().count() + PADDING);
            this += 1;
        }
        widths.push(width);
        format(lines, min_width, widths, line0, this, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, widths, line0, line1, out);
}

fn write_lines(lines: &[Vec<&str>], widths: &[usize], from: usize, to: usize, out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = widths.get(j).filter(|_| j + 1 < line.len()) {
                out.extend(std::iter::repeat_n(
                    ' ',
                    w.saturating_sub(cell.chars().count()),
                ));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::{MIN_WIDTH, tabwrite};

    #[test]
    fn columns_as_dockers_tabwriter() {
        // `docker ps` (docker 28 over berth serve), the empty PORTS cell padded.
        assert_eq!(
            tabwrite(
                "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n\
                 f01cc4f1c5ba\tbusybox\t\"sleep 1000\"\t7 seconds ago\tUp 7 seconds\t\tclock\n",
                MIN_WIDTH
            ),
            "CONTAINER ID   IMAGE     COMMAND        CREATED         STATUS         PORTS     NAMES\n\
             f01cc4f1c5ba   busybox   \"sleep 1000\"   7 seconds ago   Up 7 seconds             clock\n"
        );
        // A line without a tab ends the column block: the lines after it are aligned on
        // their own.
        assert_eq!(
            tabwrite("a\tb\nlonger-than-ten\tc\nplain\nx\ty\n", MIN_WIDTH),
            "a                 b\nlonger-than-ten   c\nplain\nx         y\n"
        );
    }
}
