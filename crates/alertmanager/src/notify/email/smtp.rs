//! A small SMTP client with the behaviour of Go's `net/smtp` that 0.25 relies on: EHLO with
//! a fallback to HELO, extensions as the last EHLO advertised them, STARTTLS followed by a
//! fresh EHLO, SASL exchanges (`AUTH`, `334` challenges, `*` to abort), `MAIL`, `RCPT`,
//! `DATA` with dot-stuffing, and `QUIT`. Replies are bounded in size.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufStream};

/// A byte stream an SMTP session runs over (TCP, or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Bound on one reply line, and on the lines of one reply.
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 256;

/// A failed exchange, worded as Go's `net/smtp` and `textproto` word theirs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    /// The server answered with an unexpected code (`textproto.Error`: `535 5.7.8 ...`).
    #[error("{code:03} {message}")]
    Reply {
        /// The reply code.
        code: u16,
        /// The reply text, lines joined by `\n`.
        message: String,
    },
    /// The connection failed or the server broke the protocol.
    #[error("{0}")]
    Io(String),
}

fn io_error(e: std::io::Error) -> SmtpError {
    SmtpError::Io(e.to_string())
}

/// One SASL mechanism, as Go's `smtp.Auth`.
pub trait Auth: Send + Sync {
    /// Go's type name of the mechanism (0.25 wraps failures as `"%T auth"`).
    fn go_type(&self) -> &'static str;
    /// The mechanism name and the initial response, or why it refuses to start.
    fn start(&self, server: &ServerInfo) -> Result<(String, Option<Vec<u8>>), String>;
    /// The answer to a challenge (`more`: the server sent `334`); `None` ends the exchange.
    fn next(&self, challenge: &[u8], more: bool) -> Result<Option<Vec<u8>>, String>;
}

/// What a mechanism may check before starting.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The server's host name as configured.
    pub name: String,
    /// Whether the session is encrypted.
    pub tls: bool,
}

/// An SMTP session.
pub struct Client {
    io: BufStream<Box<dyn Io>>,
    server_name: String,
    local_name: String,
    tls: bool,
    did_hello: bool,
    extensions: HashMap<String, String>,
}

impl Client {
    /// Reads the greeting (Go's `smtp.NewClient`).
    pub async fn new(
        stream: Box<dyn Io>,
        server_name: &str,
        tls: bool,
    ) -> Result<Client, SmtpError> {
        let mut client = Client {
            io: BufStream::new(stream),
            server_name: server_name.to_owned(),
            local_name: "localhost".to_owned(),
            tls,
            did_hello: false,
            extensions: HashMap::new(),
        };
        client.expect(220).await?;
        Ok(client)
    }

    async fn read_reply(&mut self) -> Result<(u16, String), SmtpError> {
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = (&mut self.io)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await
                .map_err(io_error)?;
            if n == 0 {
                return Err(SmtpError::Io("EOF".into()));
            }
            let line = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned();
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
            let (Some(code), sep) = (code, line.as_bytes().get(3).copied()) else {
                return Err(SmtpError::Io(format!("short response: {line}")));
            };
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if sep != Some(b'-') || lines.len() >= MAX_LINES {
                return Ok((code, lines.join("\n")));
            }
        }
    }

    /// Reads a reply, which must carry `want` (a 2-digit `want` accepts any final digit).
    async fn expect(&mut self, want: u16) -> Result<String, SmtpError> {
        let (code, message) = self.read_reply().await?;
        let ok = if want < 100 { code / 10 == want } else { code == want };
        if ok { Ok(message) } else { Err(SmtpError::Reply { code, message }) }
    }

    async fn send_line(&mut self, line: &str) -> Result<(), SmtpError> {
        self.io.write_all(line.as_bytes()).await.map_err(io_error)?;
        self.io.write_all(b"\r\n").await.map_err(io_error)?;
        self.io.flush().await.map_err(io_error)
    }

    async fn cmd(&mut self, want: u16, line: &str) -> Result<String, SmtpError> {
        self.send_line(line).await?;
        self.expect(want).await
    }

    async fn ehlo(&mut self) -> Result<(), SmtpError> {
        let line = format!("EHLO {}", self.local_name);
        let reply = self.cmd(250, &line).await?;
        self.extensions = reply
            .lines()
            .skip(1)
            .map(|l| match l.split_once(' ') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (l.to_owned(), String::new()),
            })
            .collect();
        Ok(())
    }

    async fn hello(&mut self) -> Result<(), SmtpError> {
        if self.did_hello {
            return Ok(());
        }
        self.did_hello = true;
        if self.ehlo().await.is_err() {
            let line = format!("HELO {}", self.local_name);
            self.cmd(250, &line).await?;
        }
        Ok(())
    }

    /// Greets with `name` instead of `localhost` (must come first).
    pub async fn hello_as(&mut self, name: &str) -> Result<(), SmtpError> {
        if name.contains(['\r', '\n']) {
            return Err(SmtpError::Io("smtp: A line must not contain CR or LF".into()));
        }
        name.clone_into(&mut self.local_name);
        self.hello().await
    }

    /// Whether the server advertises `extension`, and its parameters.
    pub async fn extension(&mut self, extension: &str) -> Result<Option<String>, SmtpError> {
        self.hello().await?;
        Ok(self.extensions.get(&extension.to_ascii_uppercase()).cloned())
    }

    /// Upgrades the session to TLS and greets again.
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
    ) -> Result<(), SmtpError> {
        self.hello().await?;
        self.cmd(220, "STARTTLS").await?;
        let placeholder: Box<dyn Io> = Box::new(tokio::io::duplex(1).0);
        let stream = std::mem::replace(&mut self.io, BufStream::new(placeholder)).into_inner();
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, stream)
            .await
            .map_err(io_error)?;
        self.io = BufStream::new(Box::new(tls));
        self.tls = true;
        self.ehlo().await
    }

    /// Runs a SASL exchange; on a failed step sends `*` and quits, as Go does.
    pub async fn auth(&mut self, auth: &dyn Auth) -> Result<(), SmtpError> {
        self.hello().await?;
        let info = ServerInfo { name: self.server_name.clone(), tls: self.tls };
        let (mechanism, initial) = match auth.start(&info) {
            Ok(started) => started,
            Err(e) => {
                let _ = self.quit().await;
                return Err(SmtpError::Io(e));
            }
        };
        let first = match initial {
            Some(resp) => format!("AUTH {mechanism} {}", BASE64.encode(resp)),
            None => format!("AUTH {mechanism}"),
        };
        self.send_line(first.trim()).await?;
        loop {
            let (code, message) = self.read_reply().await?;
            let step = match code {
                334 => match BASE64.decode(message.trim()) {
                    Ok(challenge) => auth.next(&challenge, true).map_err(SmtpError::Io),
                    Err(e) => Err(SmtpError::Io(e.to_string())),
                },
                235 => auth.next(message.as_bytes(), false).map_err(SmtpError::Io),
                code => Err(SmtpError::Reply { code, message }),
            };
            match step {
                Ok(Some(response)) => self.send_line(&BASE64.encode(response)).await?,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let _ = self.cmd(501, "*").await;
                    let _ = self.quit().await;
                    return Err(e);
                }
            }
        }
    }

    /// `MAIL FROM`, with `BODY=8BITMIME` and `SMTPUTF8` when advertised.
    pub async fn mail(&mut self, from: &str) -> Result<(), SmtpError> {
        self.hello().await?;
        let mut line = format!("MAIL FROM:<{from}>");
        if self.extensions.contains_key("8BITMIME") {
            line.push_str(" BODY=8BITMIME");
        }
        if self.extensions.contains_key("SMTPUTF8") {
            line.push_str(" SMTPUTF8");
        }
        self.cmd(250, &line).await.map(drop)
    }

    /// `RCPT TO`.
    pub async fn rcpt(&mut self, to: &str) -> Result<(), SmtpError> {
        self.cmd(25, &format!("RCPT TO:<{to}>")).await.map(drop)
    }

    /// `DATA`: ready to take the message.
    pub async fn data(&mut self) -> Result<(), SmtpError> {
        self.cmd(354, "DATA").await.map(drop)
    }

    /// Writes the message with dot-stuffing.
    pub async fn write_message(&mut self, message: &[u8]) -> Result<(), SmtpError> {
        let mut stuffed = Vec::with_capacity(message.len() + 16);
        let mut line_start = true;
        for &b in message {
            if line_start && b == b'.' {
                stuffed.push(b'.');
            }
            stuffed.push(b);
            line_start = b == b'\n';
        }
        self.io.write_all(&stuffed).await.map_err(io_error)
    }

    /// Ends the message and reads the server's verdict.
    pub async fn end_message(&mut self) -> Result<(), SmtpError> {
        self.cmd(250, ".").await.map(drop)
    }

    /// `QUIT`.
    pub async fn quit(&mut self) -> Result<(), SmtpError> {
        self.hello().await?;
        self.cmd(221, "QUIT").await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }
}
