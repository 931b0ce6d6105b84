//! The stylesheets as they ship: comments and the whitespace CSS does not need removed at build time
//! (`build.rs`), so the element modules carry about a fifth less stylesheet. The readable files stay
//! in `src/`; this changes no rule, selector or value (tested below and by the browser tests).

/// Characters around which whitespace never matters: block and declaration delimiters, selector
/// lists and the child combinator. `+`, `-`, `*` and `/` are left alone (`calc()` needs their
/// spaces), and so is a space before `:` (`a :hover` is not `a:hover`).
fn tight(c: char) -> bool {
    matches!(c, '{' | '}' | ';' | ',' | '>')
}

/// `css` without comments, with each run of whitespace made one space or none, and without the
/// last `;` of each block. Quoted strings are copied as they are.
pub fn minify_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut last = ' ';
            for d in chars.by_ref() {
                if last == '*' && d == '/' {
                    break;
                }
                last = d;
            }
            space = true;
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let prev = out.chars().next_back();
        if space && prev.is_some_and(|p| !tight(p) && p != ':' && p != '(') && !tight(c) && c != ')' {
            out.push(' ');
        }
        space = false;
        if c == '}' && prev == Some(';') {
            out.pop();
        }
        out.push(c);
        if c == '"' || c == '\'' {
            let mut escaped = false;
            for d in chars.by_ref() {
                out.push(d);
                match d {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    _ if d == c => break,
                    _ => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::minify_css;

    #[test]
    fn removes_comments_and_spaces_that_do_not_matter() {
        let css = "/* theme */\n:host {\n  display: block;\n  --_f: var(--f, \"Segoe  UI\", sans-serif);\n}\n\
                   @media (prefers-color-scheme: dark) {\n  :host { color: red; }\n}\n\
                   a > b, c   d { margin: calc(var(--s) * 1.5) 0; }\n";
        assert_eq!(
            minify_css(css),
            ":host{display:block;--_f:var(--f,\"Segoe  UI\",sans-serif)}@media (prefers-color-scheme:dark){:host{color:red}}\
             a>b,c d{margin:calc(var(--s) * 1.5) 0}"
        );
    }

    #[test]
    fn keeps_the_spaces_that_matter() {
        // A descendant combinator before a pseudo-class, and the operators of calc().
        assert_eq!(minify_css("p :focus { x: calc(1px + 2px) }"), "p :focus{x:calc(1px + 2px)}");
        assert_eq!(minify_css("a/* c */b{}"), "a b{}");
        assert_eq!(minify_css("i[x='a } b'] {}"), "i[x='a } b']{}");
        assert_eq!(minify_css("q { content: \"\\\" ;\" }"), "q{content:\"\\\" ;\"}");
    }

    /// Minifying only drops comments, whitespace and the `;` before a `}`: with those gone from
    /// both, the shipped stylesheets equal their sources.
    #[test]
    fn the_stylesheets_keep_every_rule() {
        for source in [include_str!("style.css"), include_str!("poll.css")] {
            let squeeze = |s: &str| -> String {
                let mut no_comments = String::new();
                let mut rest = s;
                while let Some(start) = rest.find("/*") {
                    no_comments.push_str(&rest[..start]);
                    rest = rest[start..].find("*/").map_or("", |end| &rest[start + end + 2..]);
                }
                no_comments.push_str(rest);
                no_comments.split_whitespace().collect::<String>().replace(";}", "}")
            };
            let min = minify_css(source);
            assert_eq!(squeeze(&min), squeeze(source));
            assert!(min.len() * 10 < source.len() * 9, "{} of {} bytes", min.len(), source.len());
        }
    }
}
