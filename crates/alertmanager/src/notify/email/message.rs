//! The message 0.25 writes after `DATA`, byte for byte: the configured headers (values
//! Q-encoded as Go's `mime.QEncoding` does when they hold anything but printable ASCII), a
//! `Message-Id` unless one is configured, `Date`, a `multipart/alternative` body with the
//! text part first and the HTML part last, each quoted-printable as Go's
//! `mime/quotedprintable` writes it.

use std::fmt::Write as _;

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Longest encoded text of one Q-encoded word: 75 minus `=?UTF-8?q?` and `?=`.
const MAX_Q_CONTENT: usize = 63;

/// Longest quoted-printable line, soft break included.
const QP_LINE_MAX: usize = 76;

fn q_plain(b: u8) -> bool {
    (b' '..=b'~').contains(&b) && b != b'=' && b != b'?' && b != b'_'
}

/// Go's `mime.QEncoding.Encode("utf-8", value)`.
pub fn q_encode(value: &str) -> String {
    let needs = value.bytes().any(|b| !(b' '..=b'~').contains(&b) && b != b'\t');
    if !needs {
        return value.to_owned();
    }
    let mut out = String::from("=?utf-8?q?");
    let mut len = 0;
    for c in value.chars() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        let encoded_len = if bytes.len() == 1 && q_plain(bytes[0]) { 1 } else { 3 * bytes.len() };
        if len + encoded_len > MAX_Q_CONTENT {
            out.push_str("?= =?utf-8?q?");
            len = 0;
        }
        for &b in bytes {
            match b {
                b' ' => out.push('_'),
                b if b > b' ' && b <= b'~' && b != b'=' && b != b'?' && b != b'_' => {
                    out.push(char::from(b));
                }
                b => {
                    out.push('=');
                    out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
                    out.push(char::from(UPPER_HEX[usize::from(b & 15)]));
                }
            }
        }
        len += encoded_len;
    }
    out.push_str("?=");
    out
}

/// Go's `quotedprintable.Writer` (text mode: line breaks become CRLF).
struct QuotedPrintable {
    out: Vec<u8>,
    line: Vec<u8>,
    cr: bool,
}

impl QuotedPrintable {
    fn encode(body: &str) -> Vec<u8> {
        let mut w = QuotedPrintable { out: Vec::new(), line: Vec::with_capacity(80), cr: false };
        for &b in body.as_bytes() {
            let plain = (b'!'..=b'~').contains(&b) && b != b'=';
            if plain || b == b' ' || b == b'\t' || b == b'\n' || b == b'\r' {
                w.write(b);
            } else {
                w.escape(b);
            }
        }
        w.check_last_byte();
        w.flush();
        w.out
    }

    fn write(&mut self, b: u8) {
        if b == b'\n' || b == b'\r' {
            if self.cr && b == b'\n' {
                self.cr = false;
                return;
            }
            self.cr = b == b'\r';
            self.check_last_byte();
            self.crlf();
            return;
        }
        if self.line.len() == QP_LINE_MAX - 1 {
            self.soft_break();
        }
        self.line.push(b);
        self.cr = false;
    }

    fn escape(&mut self, b: u8) {
        if QP_LINE_MAX - 1 - self.line.len() < 3 {
            self.soft_break();
        }
        self.line.extend([b'=', UPPER_HEX[usize::from(b >> 4)], UPPER_HEX[usize::from(b & 15)]]);
    }

    /// Trailing whitespace before a line break is escaped, or readers would drop it.
    fn check_last_byte(&mut self) {
        if let Some(&b) = self.line.last()
            && (b == b' ' || b == b'\t')
        {
            self.line.pop();
            self.escape(b);
        }
    }

    fn soft_break(&mut self) {
        self.line.push(b'=');
        self.crlf();
    }

    fn crlf(&mut self) {
        self.line.extend_from_slice(b"\r\n");
        self.flush();
    }

    fn flush(&mut self) {
        self.out.append(&mut self.line);
    }
}

/// Everything a message is made of, already rendered.
#[derive(Debug, Clone)]
pub struct Message {
    /// The configured headers and their rendered values, in writing order.
    pub headers: Vec<(String, String)>,
    /// `<unix-nanos.random@hostname>`, written when no `Message-Id` header is configured.
    pub message_id: String,
    /// The `Date` value (RFC 1123 with a numeric zone).
    pub date: String,
    /// The multipart boundary (60 hex digits in Go).
    pub boundary: String,
    /// The text part, if a text template is configured.
    pub text: Option<String>,
    /// The HTML part, if an HTML template is configured.
    pub html: Option<String>,
}

impl Message {
    /// The bytes sent after `DATA`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = String::new();
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {}\r\n", q_encode(value));
        }
        if !self.headers.iter().any(|(name, _)| name == "Message-Id") {
            let _ = write!(head, "Message-Id: {}\r\n", self.message_id);
        }
        let _ = write!(head, "Date: {}\r\n", self.date);
        let _ =
            write!(head, "Content-Type: multipart/alternative;  boundary={}\r\n", self.boundary);
        head.push_str("MIME-Version: 1.0\r\n\r\n");
        let mut out = head.into_bytes();
        let parts = [("text/plain", &self.text), ("text/html", &self.html)];
        let mut first = true;
        for (kind, body) in parts {
            let Some(body) = body else { continue };
            let open = if first { "" } else { "\r\n" };
            first = false;
            out.extend_from_slice(
                format!(
                    "{open}--{}\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: {kind}; charset=UTF-8\r\n\r\n",
                    self.boundary
                )
                .as_bytes(),
            );
            out.extend(QuotedPrintable::encode(body));
        }
        let close = if first { "" } else { "\r\n" };
        out.extend_from_slice(format!("{close}--{}--\r\n", self.boundary).as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_headers_stay_plain_and_others_are_q_encoded() {
        assert_eq!(q_encode("FIRING: disk (1 firing)"), "FIRING: disk (1 firing)");
        assert_eq!(q_encode("Störung a_b=c?"), "=?utf-8?q?St=C3=B6rung_a=5Fb=3Dc=3F?=");
        let long = format!("{}é", "x".repeat(62));
        assert_eq!(q_encode(&long), format!("=?utf-8?q?{}?= =?utf-8?q?=C3=A9?=", "x".repeat(62)));
    }

    #[test]
    fn quoted_printable_breaks_long_lines_and_keeps_crlf() {
        let encoded = QuotedPrintable::encode("a = b \nline2\r\né");
        assert_eq!(String::from_utf8(encoded).unwrap(), "a =3D b=20\r\nline2\r\n=C3=A9");
        let long = String::from_utf8(QuotedPrintable::encode(&"y".repeat(80))).unwrap();
        assert_eq!(long, format!("{}=\r\n{}", "y".repeat(75), "y".repeat(5)));
    }

    #[test]
    fn parts_go_text_first_then_html() {
        let message = Message {
            headers: vec![("Subject".into(), "s".into())],
            message_id: "<1.2@h>".into(),
            date: "Mon, 02 Jan 2006 15:04:05 -0700".into(),
            boundary: "b".into(),
            text: Some("t".into()),
            html: Some("<p>".into()),
        };
        let text = String::from_utf8(message.to_bytes()).unwrap();
        assert_eq!(
            text,
            "Subject: s\r\nMessage-Id: <1.2@h>\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\n\
             Content-Type: multipart/alternative;  boundary=b\r\nMIME-Version: 1.0\r\n\r\n\
             --b\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nt\
             \r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>\
             \r\n--b--\r\n"
        );
    }
}
