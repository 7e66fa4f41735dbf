//! The lexer: turns template source into tokens — text runs outside actions and the
//! words, literals and punctuation inside `{{ }}` — handling trim markers and comments.
//!
//! Tokenising happens up front into a vector; the parser then walks it with lookahead.

/// Keywords of the action language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Kw {
    fn from_word(w: &str) -> Option<Kw> {
        Some(match w {
            "block" => Kw::Block,
            "break" => Kw::Break,
            "continue" => Kw::Continue,
            "define" => Kw::Define,
            "else" => Kw::Else,
            "end" => Kw::End,
            "if" => Kw::If,
            "range" => Kw::Range,
            "template" => Kw::Template,
            "with" => Kw::With,
            _ => return None,
        })
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Kw::Block => "block",
            Kw::Break => "break",
            Kw::Continue => "continue",
            Kw::Define => "define",
            Kw::Else => "else",
            Kw::End => "end",
            Kw::If => "if",
            Kw::Range => "range",
            Kw::Template => "template",
            Kw::With => "with",
        }
    }
}

/// A token. String-like tokens keep their source text, which the parser needs for
/// error messages and node printing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Ident(String),
    Field(String),
    Var(String),
    Dot,
    Str(String),
    RawStr(String),
    Char(String),
    Number(String),
    Bool(bool),
    Nil,
    Kw(Kw),
    Pipe,
    Declare,
    Assign,
    LParen,
    RParen,
    Comma,
    Eof,
    Error(String),
}

/// A token with its byte offset and the line it starts on.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
    pub(crate) line: usize,
}

impl Item {
    /// Go's rendering of a token inside "unexpected X" messages.
    pub(crate) fn describe(&self) -> String {
        let quote_short = |s: &str| {
            if s.chars().count() > 10 {
                let head: String = s.chars().take(10).collect();
                format!("{}...", crate::printf::quote(&head))
            } else {
                crate::printf::quote(s)
            }
        };
        match &self.tok {
            Tok::Eof => "EOF".into(),
            Tok::Error(e) => e.clone(),
            Tok::Kw(k) => format!("<{}>", k.word()),
            Tok::Text(s)
            | Tok::Ident(s)
            | Tok::Field(s)
            | Tok::Var(s)
            | Tok::Str(s)
            | Tok::RawStr(s)
            | Tok::Char(s)
            | Tok::Number(s) => quote_short(s),
            Tok::LeftDelim => quote_short("{{"),
            Tok::RightDelim => quote_short("}}"),
            Tok::Space => quote_short(" "),
            Tok::Dot => quote_short("."),
            Tok::Bool(b) => quote_short(if *b { "true" } else { "false" }),
            Tok::Nil => quote_short("nil"),
            Tok::Pipe => quote_short("|"),
            Tok::Declare => quote_short(":="),
            Tok::Assign => quote_short("="),
            Tok::LParen => quote_short("("),
            Tok::RParen => quote_short(")"),
            Tok::Comma => quote_short(","),
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    line: usize,
    items: Vec<Item>,
    paren_depth: usize,
}

/// Tokenises `src`; the vector always ends with an `Eof` or `Error` token.
pub(crate) fn lex(src: &str, left: &str, right: &str) -> Vec<Item> {
    let mut lx = Lexer { src, left, right, pos: 0, line: 1, items: Vec::new(), paren_depth: 0 };
    if let Err(msg) = lx.run() {
        let (pos, line) = (lx.pos, lx.line);
        lx.items.push(Item { tok: Tok::Error(msg), pos, line });
    } else {
        let (pos, line) = (lx.pos, lx.line);
        lx.items.push(Item { tok: Tok::Eof, pos, line });
    }
    lx.items
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn emit(&mut self, tok: Tok, start: usize, line: usize) {
        self.items.push(Item { tok, pos: start, line });
    }

    /// Moves to `to`, keeping the line count right.
    fn advance_to(&mut self, to: usize) {
        self.line += self.src[self.pos..to].matches('\n').count();
        self.pos = to;
    }

    fn run(&mut self) -> Result<(), String> {
        loop {
            let Some(off) = self.rest().find(self.left) else {
                self.emit_text(self.src.len(), false);
                return Ok(());
            };
            let delim = self.pos + off;
            let after = &self.src[delim + self.left.len()..];
            let trim =
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1]);
            self.emit_text(delim, trim);
            let (line, mut inner) = (self.line, delim + self.left.len());
            if trim {
                inner += 2;
            }
            self.pos = inner;
            if self.rest().starts_with("/*") {
                self.lex_comment(delim, line)?;
            } else {
                self.emit(Tok::LeftDelim, delim, line);
                self.paren_depth = 0;
                self.lex_action()?;
            }
        }
    }

    fn emit_text(&mut self, end: usize, trim: bool) {
        let start = self.pos;
        let mut text = &self.src[start..end];
        if trim {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
        }
        let line = self.line;
        if !text.is_empty() {
            self.emit(Tok::Text(text.to_owned()), start, line);
        }
        self.advance_to(end);
    }

    /// Checks for a right delimiter (optionally with a trim marker) at the cursor and
    /// returns its total length and whether it trims.
    fn at_right_delim(&self) -> Option<(usize, bool)> {
        let rest = self.rest();
        let b = rest.as_bytes();
        if b.len() >= 2 && is_space(b[0]) && b[1] == b'-' && rest[2..].starts_with(self.right) {
            return Some((2 + self.right.len(), true));
        }
        rest.starts_with(self.right).then_some((self.right.len(), false))
    }

    fn after_right_delim(&mut self, len: usize, trim: bool) {
        self.advance_to(self.pos + len);
        if trim {
            let skip =
                self.rest().len() - self.rest().trim_start_matches([' ', '\t', '\r', '\n']).len();
            self.advance_to(self.pos + skip);
        }
    }

    fn lex_comment(&mut self, _delim: usize, _line: usize) -> Result<(), String> {
        let Some(end) = self.rest().find("*/") else {
            return Err("unclosed comment".into());
        };
        self.advance_to(self.pos + end + 2);
        match self.at_right_delim() {
            Some((len, trim)) => {
                self.after_right_delim(len, trim);
                Ok(())
            }
            None => Err("comment ends before closing delimiter".into()),
        }
    }

    fn lex_action(&mut self) -> Result<(), String> {
        loop {
            if let Some((len, trim)) = self.at_right_delim() {
                if self.paren_depth > 0 {
                    return Err("unclosed left paren".into());
                }
                let (start, line) = (self.pos, self.line);
                self.emit(Tok::RightDelim, start, line);
                self.after_right_delim(len, trim);
                return Ok(());
            }
            let Some(c) = self.rest().chars().next() else {
                return Err("unclosed action".into());
            };
            self.lex_action_token(c)?;
        }
    }

    fn lex_action_token(&mut self, c: char) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                let mut end = start;
                while end < self.src.len() && is_space(self.src.as_bytes()[end]) {
                    // A space before a right trim marker belongs to the marker.
                    let probe = &self.src[end..];
                    if probe.len() >= 2
                        && probe.as_bytes()[1] == b'-'
                        && probe[2..].starts_with(self.right)
                    {
                        break;
                    }
                    end += 1;
                }
                if end == start {
                    // Only the trim marker's own space; let the caller see the delimiter.
                    return Ok(());
                }
                self.advance_to(end);
                self.emit(Tok::Space, start, line);
            }
            '=' => self.punct(Tok::Assign, 1),
            ':' => {
                if !self.rest().starts_with(":=") {
                    return Err("expected :=".into());
                }
                self.punct(Tok::Declare, 2);
            }
            '|' => self.punct(Tok::Pipe, 1),
            ',' => self.punct(Tok::Comma, 1),
            '(' => {
                self.paren_depth += 1;
                self.punct(Tok::LParen, 1);
            }
            ')' => {
                if self.paren_depth == 0 {
                    return Err("unexpected right paren".into());
                }
                self.paren_depth -= 1;
                self.punct(Tok::RParen, 1);
            }
            '"' => self.lex_quote()?,
            '`' => self.lex_raw()?,
            '\'' => self.lex_char()?,
            '$' => self.lex_var_or_field(true)?,
            '.' => {
                let next = self.rest()[1..].chars().next();
                if next.is_some_and(|d| d.is_ascii_digit()) {
                    self.lex_number()?;
                } else {
                    self.lex_var_or_field(false)?;
                }
            }
            '+' | '-' | '0'..='9' => self.lex_number()?,
            c if is_alnum(c) => self.lex_word()?,
            c => return Err(format!("unrecognized character in action: {}", unicode_plus(c))),
        }
        Ok(())
    }

    fn punct(&mut self, tok: Tok, len: usize) {
        let (start, line) = (self.pos, self.line);
        self.pos += len;
        self.emit(tok, start, line);
    }

    fn scan_alnum(&self, from: usize) -> usize {
        let s = &self.src[from..];
        from + s.find(|c: char| !is_alnum(c)).unwrap_or(s.len())
    }

    /// Go requires a word to be followed by a space, punctuation or a delimiter.
    fn check_terminator(&self, at: usize) -> Result<(), String> {
        let s = &self.src[at..];
        let Some(c) = s.chars().next() else {
            return Ok(());
        };
        if matches!(c, ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(')
            || s.starts_with(self.right)
        {
            return Ok(());
        }
        Err(format!("bad character {}", unicode_plus(c)))
    }

    fn lex_var_or_field(&mut self, var: bool) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let end = self.scan_alnum(start + 1);
        if end == start + 1 && !var {
            self.pos = end;
            self.emit(Tok::Dot, start, line);
            return Ok(());
        }
        self.check_terminator(end)?;
        let text = self.src[start..end].to_owned();
        self.pos = end;
        self.emit(if var { Tok::Var(text) } else { Tok::Field(text) }, start, line);
        Ok(())
    }

    fn lex_word(&mut self) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let end = self.scan_alnum(start);
        self.check_terminator(end)?;
        let word = &self.src[start..end];
        let tok = match word {
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            "nil" => Tok::Nil,
            w => Kw::from_word(w).map_or_else(|| Tok::Ident(w.to_owned()), Tok::Kw),
        };
        self.pos = end;
        self.emit(tok, start, line);
        Ok(())
    }

    fn lex_number(&mut self) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let b = self.src.as_bytes();
        let mut i = start;
        if matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        let mut exp: &[u8] = b"eE";
        if b[i..].len() >= 2 && b[i] == b'0' {
            match b[i + 1] {
                b'x' | b'X' => {
                    i += 2;
                    digits = b"0123456789abcdefABCDEF_";
                    exp = b"pP";
                }
                b'o' | b'O' => {
                    i += 2;
                    digits = b"01234567_";
                    exp = b"";
                }
                b'b' | b'B' => {
                    i += 2;
                    digits = b"01_";
                    exp = b"";
                }
                _ => {}
            }
        }
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && digits.contains(&b[i]) {
                i += 1;
            }
        }
        if !exp.is_empty() && i < b.len() && exp.contains(&b[i]) {
            i += 1;
            if i < b.len() && matches!(b[i], b'+' | b'-') {
                i += 1;
            }
            while i < b.len() && b[i].is_ascii_digit() || i < b.len() && b[i] == b'_' {
                i += 1;
            }
        }
        if i < b.len() && b[i] == b'i' {
            i += 1;
        }
        if self.src[i..].chars().next().is_some_and(is_alnum) {
            let bad_end = i + self.src[i..].chars().next().map_or(0, char::len_utf8);
            return Err(format!(
                "bad number syntax: {}",
                crate::printf::quote(&self.src[start..bad_end])
            ));
        }
        self.pos = i;
        self.emit(Tok::Number(self.src[start..i].to_owned()), start, line);
        Ok(())
    }

    fn lex_quote(&mut self) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let mut it = self.src[start + 1..].char_indices();
        loop {
            match it.next() {
                Some((_, '\\')) => match it.next() {
                    Some((_, '\n')) | None => return Err("unterminated quoted string".into()),
                    _ => {}
                },
                Some((_, '\n')) | None => return Err("unterminated quoted string".into()),
                Some((i, '"')) => {
                    let end = start + 1 + i + 1;
                    self.pos = end;
                    self.emit(Tok::Str(self.src[start..end].to_owned()), start, line);
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    fn lex_raw(&mut self) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let Some(i) = self.src[start + 1..].find('`') else {
            return Err("unterminated raw quoted string".into());
        };
        let end = start + 1 + i + 1;
        self.advance_to(end);
        self.emit(Tok::RawStr(self.src[start..end].to_owned()), start, line);
        Ok(())
    }

    fn lex_char(&mut self) -> Result<(), String> {
        let (start, line) = (self.pos, self.line);
        let mut it = self.src[start + 1..].char_indices();
        loop {
            match it.next() {
                Some((_, '\\')) => match it.next() {
                    Some((_, '\n')) | None => return Err("unterminated character constant".into()),
                    _ => {}
                },
                Some((_, '\n')) | None => return Err("unterminated character constant".into()),
                Some((i, '\'')) => {
                    let end = start + 1 + i + 1;
                    self.pos = end;
                    self.emit(Tok::Char(self.src[start..end].to_owned()), start, line);
                    return Ok(());
                }
                _ => {}
            }
        }
    }
}

/// Go's `%#U` rendering of a character, used in lexer errors.
pub(crate) fn unicode_plus(c: char) -> String {
    format!("U+{:04X} '{}'", u32::from(c), c)
}
