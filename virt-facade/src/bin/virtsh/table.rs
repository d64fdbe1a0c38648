//! virsh's table layout: each cell preceded by a space and padded to its column's width plus two,
//! a divider of dashes (each column's width plus three) under the header.

/// Formats a table; the header row is omitted when `header` is false (virsh `--quiet`).
pub fn format(rows: &[Vec<String>], header: bool) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let cols = first.len();
    let mut widths = vec![0usize; cols];
    for row in rows.iter().skip(usize::from(!header)) {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let print_row = |row: &Vec<String>, out: &mut String| {
        for (i, cell) in row.iter().enumerate().take(cols) {
            out.push(' ');
            out.push_str(cell);
            if i + 1 < cols {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    if header {
        print_row(first, &mut out);
        let dashes: usize = widths.iter().map(|w| w + 3).sum();
        out.extend(std::iter::repeat_n('-', dashes));
        out.push('\n');
    }
    for row in &rows[1..] {
        print_row(row, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn virsh_list_layout() {
        let rows = vec![
            vec!["Id".to_string(), "Name".into(), "State".into()],
            vec!["1".to_string(), "test".into(), "running".into()],
            vec!["-".to_string(), "longer-name".into(), "shut off".into()],
        ];
        assert_eq!(
            super::format(&rows, true),
            " Id   Name          State\n\
             ------------------------------\n \
             1    test          running\n \
             -    longer-name   shut off\n"
        );
        assert_eq!(
            super::format(&rows, false),
            " 1   test          running\n -   longer-name   shut off\n"
        );
    }
}
