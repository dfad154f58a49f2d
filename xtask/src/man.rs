//! Man pages made from a tool's own `--help`, so the two cannot disagree.

/// The headings of `--help` and the man page sections they become.
const HEADINGS: [(&str, &str); 3] = [
    ("Options:", "OPTIONS"),
    ("Environment:", "ENVIRONMENT"),
    ("Exit status:", "EXIT STATUS"),
];

/// How deep a line of an entry's text is indented when it goes on from the line above:
/// deeper than any term (`  hostname`, `      --stls`).
const CONTINUED: &str = "        ";

/// Renders `help` (the text `TOOL --help` prints) as a roff man page in section 1.
pub fn render(help: &str) -> anyhow::Result<String> {
    let mut lines = help.lines();
    let title = lines.next().unwrap_or_default();
    let (name, version) = title
        .split_once(' ')
        .ok_or_else(|| anyhow::anyhow!("--help does not start with `NAME VERSION`: {title:?}"))?;
    let about = lines.next().unwrap_or_default();
    let mut page = format!(
        ".TH {} 1 \"\" \"{name} {version}\" \"User Commands\"\n.SH NAME\n{} \\- {}\n",
        name.to_uppercase(),
        escape(name),
        escape(about)
    );
    // The help's order is usage, operands, options...; a man page's puts the description
    // (the help's closing paragraphs) right after the synopsis.
    let mut synopsis_part = String::new();
    let mut sections = String::new();
    let mut description = Vec::new();
    let mut section = "";
    for line in lines {
        if let Some(usage) = line.strip_prefix("usage: ") {
            synopsis_part = format!(".SH SYNOPSIS\n{}\n", synopsis(usage));
            section = "ARGUMENTS";
            sections += ".SH ARGUMENTS\n";
        } else if let Some(heading) = HEADINGS.iter().find(|(h, _)| line == *h) {
            section = heading.1;
            sections += &format!(".SH {section}\n");
        } else if line.starts_with(CONTINUED) && !section.is_empty() {
            // The text of the entry above goes on: roff fills it into one paragraph.
            sections += &format!("{}\n", escape(line.trim_start()));
        } else if line.starts_with("  ") && !section.is_empty() {
            let (term, text) = split_term(line.trim_start());
            sections += &format!(".TP\n.B {}\n{}\n", escape(term), escape(text));
        } else if line.is_empty() {
            if section == "EXIT STATUS" {
                section = "";
            }
            if !description.is_empty() && description.last() != Some(&String::new()) {
                description.push(String::new());
            }
        } else if section.is_empty() {
            description.push(escape(line));
        }
    }
    page += &synopsis_part;
    page += ".SH DESCRIPTION\n";
    page += &description.join("\n").trim().replace("\n\n", "\n.PP\n");
    page += "\n";
    page += &sections;
    page += ".SH SEE ALSO\nBrandon Rhodes and John Goerzen, \\fIFoundations of Python Network Programming\\fR,\n3rd edition, chapter 14; RFC 1939 (POP3), RFC 2449 (CAPA), RFC 2595 (STLS).\n";
    Ok(page)
}

/// `NAME [options] hostname username` with the name in bold and operands in italics.
fn synopsis(usage: &str) -> String {
    let mut words = usage.split(' ');
    let name = words.next().unwrap_or_default();
    let rest: Vec<String> = words
        .map(|w| match w {
            "[options]" => "[\\fIoptions\\fR]".to_string(),
            operand => format!("\\fI{}\\fR", escape(operand)),
        })
        .collect();
    format!(".B {}\n{}", escape(name), rest.join(" "))
}

/// `--timeout SECS        text` into the term and its text (two or more spaces apart).
fn split_term(line: &str) -> (&str, &str) {
    match line.find("  ") {
        Some(gap) => (&line[..gap], line[gap..].trim_start()),
        None => (line, ""),
    }
}

/// Escapes what roff would read as its own: backslashes, hyphens, leading dots and quotes.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.chars().next() {
        Some('.' | '\'') => format!("\\&{text}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "popconn 1.2.3
Log in and count.

usage: popconn [options] hostname username

  hostname                  the server
  username                  the mailbox

Options:
      --stls                plain POP3 upgraded with STLS
      --auth MECHANISM      log in by SASL: scram-sha-256,
                            plain or login
  -h, --help                show this help

Environment:
  POP3_TRACE                like --trace, when set to 1

Exit status:
  0                         success

The password is read without echo.
.dots stay text.
Answers read this way:
";

    #[test]
    fn sections_come_from_the_help() {
        let page = render(HELP).unwrap();
        assert!(page.starts_with(".TH POPCONN 1 \"\" \"popconn 1.2.3\" \"User Commands\"\n.SH NAME\npopconn \\- Log in and count.\n"));
        assert!(page.contains(
            ".SH SYNOPSIS\n.B popconn\n[\\fIoptions\\fR] \\fIhostname\\fR \\fIusername\\fR\n"
        ));
        assert!(page.contains(".SH ARGUMENTS\n.TP\n.B hostname\nthe server\n"));
        assert!(page.contains(".SH OPTIONS\n.TP\n.B \\-\\-stls\nplain POP3 upgraded with STLS\n"));
        assert!(page.contains(".TP\n.B \\-h, \\-\\-help\nshow this help\n"));
        assert!(page.contains(
            ".TP\n.B \\-\\-auth MECHANISM\nlog in by SASL: scram\\-sha\\-256,\nplain or login\n.TP\n"
        ));
        assert!(
            page.contains(".SH ENVIRONMENT\n.TP\n.B POP3_TRACE\nlike \\-\\-trace, when set to 1\n")
        );
        assert!(page.contains(".SH EXIT STATUS\n.TP\n.B 0\nsuccess\n"));
        assert!(page.contains(".SH DESCRIPTION\nThe password is read without echo.\n\\&.dots stay text.\nAnswers read this way:\n.SH ARGUMENTS"));
        assert!(page.ends_with("RFC 2595 (STLS).\n"));
    }

    #[test]
    fn help_without_a_version_is_an_error() {
        assert!(render("popconn\n").is_err());
    }
}
