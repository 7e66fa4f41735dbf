//! The SASL mechanisms 0.25 offers and how it picks one: the first mechanism the server
//! lists that Klaxon knows and has credentials for (CRAM-MD5 needs `auth_secret`, PLAIN and
//! LOGIN a password), and none at all without `auth_username`.

use hmac::{KeyInit, Mac};

use super::smtp::{Auth, ServerInfo};

/// PLAIN (Go's `smtp.PlainAuth`): only over TLS or to `localhost`, `127.0.0.1` or `::1`.
pub struct Plain {
    /// Authorization identity.
    pub identity: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The host the credentials are meant for (the smarthost's).
    pub host: String,
}

impl Auth for Plain {
    fn go_type(&self) -> &'static str {
        "*smtp.plainAuth"
    }

    fn start(&self, server: &ServerInfo) -> Result<(String, Option<Vec<u8>>), String> {
        let local = ["localhost", "127.0.0.1", "::1"].contains(&server.name.as_str());
        if !server.tls && !local {
            return Err("unencrypted connection".into());
        }
        if server.name != self.host {
            return Err("wrong host name".into());
        }
        let response = format!("{}\0{}\0{}", self.identity, self.username, self.password);
        Ok(("PLAIN".into(), Some(response.into_bytes())))
    }

    fn next(&self, _: &[u8], more: bool) -> Result<Option<Vec<u8>>, String> {
        if more { Err("unexpected server challenge".into()) } else { Ok(None) }
    }
}

/// LOGIN: answers the `Username:` and `Password:` prompts.
pub struct Login {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl Auth for Login {
    fn go_type(&self) -> &'static str {
        "*email.loginAuth"
    }

    fn start(&self, _: &ServerInfo) -> Result<(String, Option<Vec<u8>>), String> {
        Ok(("LOGIN".into(), None))
    }

    fn next(&self, challenge: &[u8], more: bool) -> Result<Option<Vec<u8>>, String> {
        if !more {
            return Ok(None);
        }
        match String::from_utf8_lossy(challenge).to_lowercase().as_str() {
            "username:" => Ok(Some(self.username.clone().into_bytes())),
            "password:" => Ok(Some(self.password.clone().into_bytes())),
            _ => Err("unexpected server challenge".into()),
        }
    }
}

/// CRAM-MD5: the user name and the hex HMAC-MD5 of the challenge keyed by the secret.
pub struct CramMd5 {
    /// User name.
    pub username: String,
    /// Shared secret.
    pub secret: String,
}

impl Auth for CramMd5 {
    fn go_type(&self) -> &'static str {
        "*smtp.cramMD5Auth"
    }

    fn start(&self, _: &ServerInfo) -> Result<(String, Option<Vec<u8>>), String> {
        Ok(("CRAM-MD5".into(), None))
    }

    fn next(&self, challenge: &[u8], more: bool) -> Result<Option<Vec<u8>>, String> {
        if !more {
            return Ok(None);
        }
        let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(self.secret.as_bytes())
            .map_err(|e| e.to_string())?;
        mac.update(challenge);
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Some(format!("{} {hex}", self.username).into_bytes()))
    }
}

/// Credentials from the configuration.
pub struct Credentials<'a> {
    /// `auth_username`.
    pub username: &'a str,
    /// `auth_password`, or the file's content when `auth_password_file` is set.
    pub password: Result<String, String>,
    /// `auth_secret`.
    pub secret: &'a str,
    /// `auth_identity`.
    pub identity: &'a str,
    /// The smarthost's host.
    pub host: &'a str,
}

/// Picks a mechanism from the server's `AUTH` list (0.25's `auth`): `Ok(None)` without a user
/// name; an error joining why each known mechanism could not be used otherwise.
pub fn choose(advertised: &str, creds: &Credentials<'_>) -> Result<Option<Box<dyn Auth>>, String> {
    if creds.username.is_empty() {
        return Ok(None);
    }
    let mut errors = Vec::new();
    for mechanism in advertised.split(' ') {
        match mechanism {
            "CRAM-MD5" => {
                if creds.secret.is_empty() {
                    errors.push("missing secret for CRAM-MD5 auth mechanism".to_owned());
                    continue;
                }
                return Ok(Some(Box::new(CramMd5 {
                    username: creds.username.to_owned(),
                    secret: creds.secret.to_owned(),
                })));
            }
            "PLAIN" | "LOGIN" => {
                let password = match &creds.password {
                    Ok(p) => p.clone(),
                    Err(e) => {
                        errors.push(e.clone());
                        continue;
                    }
                };
                if password.is_empty() {
                    errors.push(format!("missing password for {mechanism} auth mechanism"));
                    continue;
                }
                let username = creds.username.to_owned();
                return Ok(Some(if mechanism == "PLAIN" {
                    Box::new(Plain {
                        identity: creds.identity.to_owned(),
                        username,
                        password,
                        host: creds.host.to_owned(),
                    })
                } else {
                    Box::new(Login { username, password })
                }));
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        errors.push(format!("unknown auth mechanism: {advertised}"));
    }
    Err(multi_error(&errors))
}

/// Alertmanager's `types.MultiError` text.
fn multi_error(errors: &[String]) -> String {
    errors.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(password: &str, secret: &str) -> Credentials<'static> {
        Credentials {
            username: "u",
            password: Ok(password.to_owned()),
            secret: Box::leak(secret.to_owned().into_boxed_str()),
            identity: "",
            host: "mail.example",
        }
    }

    #[test]
    fn the_server_order_decides_among_usable_mechanisms() {
        let pick =
            |list: &str, c: &Credentials<'_>| choose(list, c).map(|a| a.map(|a| a.go_type()));
        assert_eq!(pick("LOGIN PLAIN CRAM-MD5", &creds("p", "s")), Ok(Some("*email.loginAuth")));
        assert_eq!(pick("CRAM-MD5 PLAIN", &creds("p", "")), Ok(Some("*smtp.plainAuth")));
        assert_eq!(
            pick("CRAM-MD5 PLAIN", &creds("", "")),
            Err("missing secret for CRAM-MD5 auth mechanism; missing password for PLAIN auth mechanism".into())
        );
        assert_eq!(pick("XOAUTH2", &creds("p", "")), Err("unknown auth mechanism: XOAUTH2".into()));
        let anonymous = Credentials { username: "", ..creds("p", "s") };
        assert_eq!(pick("PLAIN", &anonymous), Ok(None));
    }

    #[test]
    fn cram_md5_answers_with_the_hmac_of_the_challenge() {
        // RFC 2195's example exchange.
        let auth = CramMd5 { username: "tim".into(), secret: "tanstaaftanstaaf".into() };
        let answer = auth.next(b"<1896.697170952@postoffice.reston.mci.net>", true).unwrap();
        assert_eq!(answer.unwrap(), b"tim b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn plain_refuses_cleartext_to_other_hosts() {
        let auth = Plain {
            identity: String::new(),
            username: "u".into(),
            password: "p".into(),
            host: "mx".into(),
        };
        let cleartext = ServerInfo { name: "mx".into(), tls: false };
        assert_eq!(auth.start(&cleartext).unwrap_err(), "unencrypted connection");
        let (mechanism, initial) = auth.start(&ServerInfo { tls: true, ..cleartext }).unwrap();
        assert_eq!((mechanism.as_str(), initial.unwrap()), ("PLAIN", b"\0u\0p".to_vec()));
    }
}
