//! Address lists as `to` and `from` hold them (`Name <user@host>, other@host`): the bare
//! addresses, in order, or an error worded as Go's `net/mail` words its common ones.

/// The addresses of a comma-separated list.
pub fn parse_list(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in split_top_level(list) {
        let item = item.trim();
        if item.is_empty() {
            return Err("mail: no address".into());
        }
        let spec = match (item.rfind('<'), item.ends_with('>')) {
            (Some(open), true) => item[open + 1..item.len() - 1].trim(),
            (Some(_), false) => return Err("mail: unclosed angle-addr".into()),
            (None, _) if item.contains(char::is_whitespace) => {
                return Err("mail: no angle-addr".into());
            }
            (None, _) => item,
        };
        let Some((local, domain)) = spec.rsplit_once('@') else {
            return Err("mail: missing @ in addr-spec".into());
        };
        if local.is_empty() || domain.is_empty() {
            return Err("mail: invalid string".into());
        }
        out.push(spec.to_owned());
    }
    Ok(out)
}

/// Splits on commas outside quoted strings and angle brackets.
fn split_top_level(list: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut angle) = (Vec::new(), 0, false, false);
    let mut escaped = false;
    for (i, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_yield_bare_addresses() {
        let list = r#"Ops Team <ops@example.org>, "Doe, Jane" <jane@example.org>,bob@example.org"#;
        let parsed = parse_list(list).unwrap();
        assert_eq!(parsed, ["ops@example.org", "jane@example.org", "bob@example.org"]);
        assert_eq!(parse_list("").unwrap_err(), "mail: no address");
        assert_eq!(parse_list("nobody").unwrap_err(), "mail: missing @ in addr-spec");
    }
}
