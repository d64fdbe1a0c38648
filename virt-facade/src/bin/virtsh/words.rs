//! Splitting a command script into commands and words, as virsh reads one: words separated by
//! blanks, `'...'` and `"..."` quoting, backslash escapes, `;` or a newline ending a command, `#`
//! starting a comment at the beginning of a word.

/// A malformed script line.
#[derive(Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

/// The commands of a script, each with the line it starts on.
pub fn split_script(text: &str) -> Result<Vec<(usize, Vec<String>)>, ScriptError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    let flush = |words: &mut Vec<String>, out: &mut Vec<(usize, Vec<String>)>, at: usize| {
        if !words.is_empty() {
            out.push((at, std::mem::take(words)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' | ';' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
                flush(&mut words, &mut out, start_line);
                if c == '\n' {
                    line += 1;
                }
                start_line = line;
            }
            ' ' | '\t' | '\r' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '#' if word.is_none() => {
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                let quote_line = line;
                loop {
                    match chars.next() {
                        None => {
                            return Err(ScriptError {
                                line: quote_line,
                                message: format!("unterminated {c} quote"),
                            })
                        }
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(e) => w.push(e),
                            None => {
                                return Err(ScriptError {
                                    line,
                                    message: "backslash at end of input".into(),
                                })
                            }
                        },
                        Some(other) => {
                            if other == '\n' {
                                line += 1;
                            }
                            w.push(other)
                        }
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => line += 1,
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => {
                    return Err(ScriptError {
                        line,
                        message: "backslash at end of input".into(),
                    })
                }
            },
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(w) = word.take() {
        words.push(w);
    }
    flush(&mut words, &mut out, start_line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_quotes_comments_and_separators() {
        let s = "define a.xml\n# comment\nstart 'my vm'; list --all\n dumpxml \"x\\\"y\" # tail\n";
        assert_eq!(
            split_script(s).unwrap(),
            vec![
                (1, w(&["define", "a.xml"])),
                (3, w(&["start", "my vm"])),
                (3, w(&["list", "--all"])),
                (4, w(&["dumpxml", "x\"y"])),
            ]
        );
        assert_eq!(
            split_script("start 'x").unwrap_err(),
            ScriptError {
                line: 1,
                message: "unterminated ' quote".into()
            }
        );
    }
}
