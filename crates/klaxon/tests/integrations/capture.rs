//! A capture server: records every request (method, path with query, headers, body) and
//! answers as the service it stands in for would, over plain HTTP or TLS with a test CA.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// One recorded request.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) target: String,
    /// Lower-cased names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Captured {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("body of {} is not JSON ({e}): {}", self.target, self.text())
        })
    }
}

/// An answer: status, headers, body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

impl Reply {
    /// A status with a JSON body.
    pub(crate) fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
        }
    }
}

/// How the capture answers.
pub(crate) type Answer = Arc<dyn Fn(&Captured) -> Reply + Send + Sync>;

/// A running capture server.
pub(crate) struct Capture {
    pub(crate) base: String,
    received: Arc<Mutex<Vec<Captured>>>,
}

/// What every connection of a capture server shares.
struct State {
    record: Arc<Mutex<Vec<Captured>>>,
    answer: Answer,
    /// When set, `CONNECT` tunnels are accepted and their TLS terminated with this
    /// configuration (a certificate for the real service's name, signed by the test CA).
    intercept: Option<tokio_rustls::TlsAcceptor>,
}

type Body = http_body_util::Full<hyper::body::Bytes>;

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Response<Body> {
    if request.method() == hyper::Method::CONNECT {
        let Some(acceptor) = state.intercept.clone() else {
            return Response::builder().status(405).body(Body::default()).expect("response");
        };
        let inner = Arc::new(State {
            record: state.record.clone(),
            answer: state.answer.clone(),
            intercept: None,
        });
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(request).await else { return };
            if let Ok(tls) = acceptor.accept(TokioIo::new(upgraded)).await {
                serve(TokioIo::new(tls), inner).await;
            }
        });
        return Response::builder().status(200).body(Body::default()).expect("response");
    }
    let method = request.method().to_string();
    let target = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body =
        request.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let captured = Captured { method, target, headers, body };
    let reply = (state.answer)(&captured);
    state.record.lock().unwrap().push(captured);
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(reply.body)).expect("response")
}

/// Serves HTTP/1.1 on one connection (boxed: a tunnel serves again inside).
fn serve<I>(
    io: I,
    state: Arc<State>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    Box::pin(async move {
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(state, request).await) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades()
            .await;
    })
}

impl Capture {
    /// Starts on `address`; `tls` makes it HTTPS with that server configuration.
    pub(crate) async fn start(
        address: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
        answer: Answer,
    ) -> Capture {
        Capture::start_full(address, tls, None, answer).await
    }

    /// Starts a plain HTTP capture that is also a forward proxy, terminating the TLS of
    /// `CONNECT` tunnels with `intercept`.
    pub(crate) async fn start_intercepting(
        address: &str,
        intercept: Arc<rustls::ServerConfig>,
        answer: Answer,
    ) -> Capture {
        Capture::start_full(address, None, Some(intercept), answer).await
    }

    async fn start_full(
        address: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
        intercept: Option<Arc<rustls::ServerConfig>>,
        answer: Answer,
    ) -> Capture {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .unwrap_or_else(|e| panic!("bind capture server {address}: {e}"));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let received: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let state = Arc::new(State {
            record: received.clone(),
            answer,
            intercept: intercept.map(tokio_rustls::TlsAcceptor::from),
        });
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let state = state.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(TokioIo::new(stream), state).await;
                            }
                        }
                        None => serve(TokioIo::new(stream), state).await,
                    }
                });
            }
        });
        Capture { base: format!("{scheme}://{address}"), received }
    }

    /// Everything received so far.
    pub(crate) fn received(&self) -> Vec<Captured> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until `done` holds for the requests received.
    pub(crate) async fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&[Captured]) -> bool,
    ) -> Vec<Captured> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            let summary: Vec<String> =
                received.iter().map(|c| format!("{} {}", c.method, c.target)).collect();
            assert!(Instant::now() < deadline, "{what}: not received in time; got {summary:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A test CA and a server certificate it signed.
pub(crate) struct TestPki {
    pub ca_pem: String,
    /// Serves the server certificate.
    pub server: Arc<rustls::ServerConfig>,
    /// Serves the server certificate and requires a client certificate the CA signed.
    pub server_requiring_client_cert: Arc<rustls::ServerConfig>,
    /// A client certificate the CA signed, and its key (PEM).
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl TestPki {
    /// A CA, a server certificate for the DNS names given (no IP address: clients must set
    /// `server_name`) and a client certificate.
    pub(crate) fn new(names: &[&str]) -> TestPki {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Klaxon test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("server params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let client_key = rcgen::KeyPair::generate().expect("client key");
        let mut client_params =
            rcgen::CertificateParams::new(vec!["klaxon-client".to_owned()]).expect("client params");
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert =
            client_params.signed_by(&client_key, &issuer).expect("client certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = vec![cert.der().clone()];
        let server_key = || rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain.clone(), server_key())
            .expect("server TLS config");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).expect("CA as root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let mutual = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, server_key())
            .expect("mutual TLS config");
        TestPki {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
            server_requiring_client_cert: Arc::new(mutual),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }
}
