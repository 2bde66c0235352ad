//! `TestApp`: one `talent-gateway serve` process with its own data folder, PKI and database.

use crate::fixtures::{id_number, issue_request};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use talent_gateway::pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite,
    Postgres(String),
}

impl Db {
    /// PostgreSQL when TEST_DATABASE_URL is set; without it the variant passes without
    /// running (said on the terminal), or fails under REQUIRE_POSTGRES_TESTS (tests/run).
    pub(crate) fn postgres() -> Option<Self> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                assert!(
                    std::env::var_os("REQUIRE_POSTGRES_TESTS").is_none(),
                    "REQUIRE_POSTGRES_TESTS is set but TEST_DATABASE_URL is not"
                );
                not_run(
                    "the PostgreSQL tests (the ...::postgres variants and PostgreSQL-only ones pass without running)",
                    "TEST_DATABASE_URL is not set",
                );
                None
            }
        }
    }
}

/// Says on the terminal, once per test process, that `what` did not run and why. Written to
/// `io::stderr()` itself: libtest captures `eprintln!` of passing tests, and a quick
/// `cargo test` must still show what it left out.
pub(crate) fn not_run(what: &'static str, why: &str) {
    use std::io::Write;
    static SAID: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.contains(&what) {
        return;
    }
    said.push(what);
    let _ = writeln!(
        std::io::stderr(),
        "\nNOT RUN: {what}: {why}. tests/run runs every test."
    );
}

/// Runs an async test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Db::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::helpers::Db::postgres() {
                    super::$name(db).await;
                }
            }
        }
    };
}

/// A fresh database on the PostgreSQL server of `url`.
async fn fresh_postgres(url: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    let name = format!("tg_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = url.rsplit_once('/').expect("URL has a database");
    format!("{base}/{name}")
}

pub(crate) struct TestApp {
    child: Option<Child>,
    pub(crate) addr: String,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) certs: PathBuf,
    pub(crate) database_url: String,
    log: Arc<Mutex<String>>,
}

/// How to start a `TestApp`: `TestApp::builder().db(db).config(..).spawn().await`. By
/// default a fresh data folder, PKI and SQLite database, an empty config, and port 0.
#[must_use]
pub(crate) struct Builder {
    db: Db,
    config: String,
    database_url: Option<String>,
    pki_of: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
    listen: Option<String>,
}

impl Builder {
    /// The database to run on (a fresh one).
    pub(crate) fn db(mut self, db: Db) -> Self {
        self.db = db;
        self
    }

    /// The TOML config file's text.
    pub(crate) fn config(mut self, config: &str) -> Self {
        config.clone_into(&mut self.config);
        self
    }

    /// Shares `first`'s database instead of a fresh one: a second process on the same data.
    pub(crate) fn database_of(mut self, first: &TestApp) -> Self {
        self.database_url = Some(first.database_url.clone());
        self
    }

    /// Another replica of `first`: its database and a copy of its PKI, so partners accept
    /// the same identity.
    pub(crate) fn replica_of(mut self, first: &TestApp) -> Self {
        self.pki_of = Some(first.certs.clone());
        self.database_of(first)
    }

    /// Runs in `dir`, whose PKI is already under `dir/certs`.
    pub(crate) fn dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Listens on a reserved `addr` instead of port 0: only for two federated regions, which
    /// must know each other's CA and address before either starts.
    pub(crate) fn listen(mut self, addr: &str) -> Self {
        self.listen = Some(addr.to_owned());
        self
    }

    /// Starts the gateway and waits for its readiness line.
    pub(crate) async fn spawn(self) -> TestApp {
        let given_dir = self.dir.is_some();
        let dir = match self.dir {
            Some(dir) => dir,
            None => tempfile::tempdir().expect("tempdir"),
        };
        let certs = dir.path().join("certs");
        if let Some(first) = &self.pki_of {
            std::fs::create_dir_all(&certs).expect("certs folder");
            for entry in std::fs::read_dir(first).expect("first's certs") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), certs.join(entry.file_name())).expect("copy");
            }
        } else if !given_dir {
            talent_gateway::dev_certs::generate(&certs, "cq.talent", "my.talent")
                .expect("dev certs");
        }
        let database_url = match (self.database_url, self.db) {
            (Some(url), _) => url,
            (None, Db::Sqlite) => format!("sqlite://{}", dir.path().join("gw.db").display()),
            (None, Db::Postgres(url)) => fresh_postgres(&url).await,
        };
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, &self.config).expect("config");
        let mut app = TestApp {
            child: None,
            addr: self.listen.unwrap_or_else(|| ANY_PORT.to_owned()),
            dir,
            certs,
            database_url,
            log: Arc::new(Mutex::new(String::new())),
        };
        app.start_at(&config_path);
        app
    }
}

/// Loopback, port 0: the gateway picks a free port and prints it in its readiness line.
const ANY_PORT: &str = "127.0.0.1:0";

impl TestApp {
    /// Starts describing a gateway; see `Builder`.
    pub(crate) fn builder() -> Builder {
        Builder {
            db: Db::Sqlite,
            config: String::new(),
            database_url: None,
            pki_of: None,
            dir: None,
            listen: None,
        }
    }

    /// Starts the same gateway again on the same data after `terminate`, on a new port.
    pub(crate) fn restart<'a>(app: &'a mut Self, config: &std::path::Path) -> &'a Self {
        app.start(config);
        app
    }

    /// Starts the same gateway again on the same data and address after `terminate`.
    pub(crate) fn restart_in_place(&mut self) {
        let config = self.dir.path().join("gateway.toml");
        self.start_at(&config);
    }

    fn start(&mut self, config: &std::path::Path) {
        ANY_PORT.clone_into(&mut self.addr);
        self.start_at(config);
    }

    /// Starts the process on `self.addr`, then takes the address it prints as ready.
    fn start_at(&mut self, config: &std::path::Path) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
            .args([
                "serve",
                "--listen",
                &self.addr,
                "--database-url",
                &self.database_url,
            ])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--config")
            .arg(config)
            .arg("--tls-cert")
            .arg(self.certs.join("server.pem"))
            .arg("--tls-key")
            .arg(self.certs.join("server.key"))
            .arg("--client-ca")
            .arg(self.certs.join("ca.pem"))
            .env("RUST_LOG", "info")
            .env("TALENT_GATEWAY_REFRESH_MILLIS", "200")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start talent-gateway");
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let log = self.log.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    // The contract's readiness line: `listening on ADDR`.
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        let _ = tx.send(addr.to_owned());
                    }
                    let mut l = log.lock().expect("log");
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => self.addr = addr,
            Err(_) => panic!("gateway did not start:\n{}", self.logs()),
        }
    }

    /// Everything the gateway printed so far.
    pub(crate) fn logs(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// A channel as `role` ("operator", "counter", "partner"), or without a certificate.
    pub(crate) async fn channel(&self, role: Option<&str>) -> Channel {
        self.channel_with(role, &self.certs).await.expect("connect")
    }

    /// A channel whose client certificate comes from another PKI folder.
    pub(crate) async fn channel_with(
        &self,
        role: Option<&str>,
        pki: &std::path::Path,
    ) -> Result<Channel, tonic::transport::Error> {
        self.endpoint(role, pki)?.connect().await
    }

    /// The endpoint of `channel_with`, to set more before connecting.
    pub(crate) fn endpoint(
        &self,
        role: Option<&str>,
        pki: &std::path::Path,
    ) -> Result<Endpoint, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(
                std::fs::read(self.certs.join("ca.pem")).expect("ca"),
            ))
            .domain_name("localhost");
        if let Some(role) = role {
            tls = tls.identity(Identity::from_pem(
                std::fs::read(pki.join(format!("{role}.pem"))).expect("cert"),
                std::fs::read(pki.join(format!("{role}.key"))).expect("key"),
            ));
        }
        Channel::from_shared(format!("https://{}", self.addr))
            .expect("uri")
            .tls_config(tls)
    }

    pub(crate) async fn issuance(
        &self,
        role: Option<&str>,
    ) -> pb::card_issuance_client::CardIssuanceClient<Channel> {
        pb::card_issuance_client::CardIssuanceClient::new(self.channel(role).await)
    }

    /// An Entitlements client as `role`, or without a certificate.
    pub(crate) async fn entitlements(
        &self,
        role: Option<&str>,
    ) -> pb::entitlements_client::EntitlementsClient<Channel> {
        pb::entitlements_client::EntitlementsClient::new(self.channel(role).await)
    }

    pub(crate) async fn verification(
        &self,
    ) -> pb::verification_client::VerificationClient<Channel> {
        pb::verification_client::VerificationClient::new(self.channel(Some("counter")).await)
    }

    pub(crate) async fn federation(&self) -> pb::federation_client::FederationClient<Channel> {
        pb::federation_client::FederationClient::new(self.channel(None).await)
    }

    pub(crate) async fn admin(&self) -> pb::admin_client::AdminClient<Channel> {
        pb::admin_client::AdminClient::new(self.channel(Some("operator")).await)
    }

    /// Sends SIGTERM and waits for the exit.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        self.send_term();
        self.wait_exit(Duration::from_secs(30))
    }

    /// Sends SIGTERM and returns at once.
    pub(crate) fn send_term(&self) {
        let child = self.child.as_ref().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; panics past `within`.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(s) = child.try_wait().expect("wait") {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("gateway did not exit within {within:?}:\n{}", self.logs());
    }

    /// The gateway's process id (for a test driver that stops it while the test waits).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no chance to finish anything.
    pub(crate) fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A loopback address with a port free now, for a gateway whose address another must know
/// before it starts (two federated regions); it may be taken meanwhile, so every other
/// gateway listens on port 0 and says where.
pub(crate) fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// An own card issued by the operator, for the holder whose ID number starts `base17`.
pub(crate) async fn own_card(app: &TestApp, base17: &str, tier: &str) -> pb::Card {
    issued(app, issue_request(&id_number(base17), tier, "")).await
}

/// The card the operator is issued for `req`.
pub(crate) async fn issued(app: &TestApp, req: pb::IssueCardRequest) -> pb::Card {
    app.issuance(Some("operator"))
        .await
        .issue_card(req)
        .await
        .expect("issued")
        .into_inner()
        .card
        .expect("card")
}

/// The card `card_id` as the operator reads it.
pub(crate) async fn get_card(app: &TestApp, card_id: &str) -> pb::Card {
    app.issuance(Some("operator"))
        .await
        .get_card(pb::GetCardRequest {
            card_id: card_id.into(),
        })
        .await
        .expect("card")
        .into_inner()
        .card
        .expect("card")
}

/// Polls `f` until it returns Some, or panics after three times `within`: the windows are
/// what a quiet machine needs, and CI runs every test at once on two cores. A condition met
/// returns at once, so the slack costs nothing when all is well.
pub(crate) async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let within = within * 3;
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub(crate) struct BearerToken(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Bearer = tonic::service::interceptor::InterceptedService<Channel, BearerToken>;

/// A channel with `role`'s certificate (or none) that sends `authorization: Bearer token`.
pub(crate) async fn with_token(app: &TestApp, role: Option<&str>, token: &str) -> Bearer {
    let value = format!("Bearer {token}").parse().expect("header");
    tonic::service::interceptor::InterceptedService::new(
        app.channel(role).await,
        BearerToken(value),
    )
}

/// A counter token for `name`, valid `valid_hours`, issued by the operator.
pub(crate) async fn counter_token(
    app: &TestApp,
    name: &str,
    valid_hours: u32,
) -> pb::IssueCounterTokenResponse {
    app.admin()
        .await
        .issue_counter_token(pb::IssueCounterTokenRequest {
            name: name.into(),
            valid_hours,
        })
        .await
        .expect("token issued")
        .into_inner()
}

/// Runs a `talent-gateway` command as an operator would: (success, stdout and stderr).
pub(crate) fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args(args)
        .output()
        .expect("run talent-gateway");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What gRPC health says of `service` ("" for the whole server) over `channel`.
pub(crate) async fn health_of(
    channel: Channel,
    service: &str,
) -> tonic_health::pb::health_check_response::ServingStatus {
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

/// Verifies `credential` as a counter.
pub(crate) async fn verify(app: &TestApp, credential: &str) -> pb::VerifyCardResponse {
    app.verification()
        .await
        .verify_card(pb::VerifyCardRequest {
            credential: credential.into(),
            ..Default::default()
        })
        .await
        .expect("VerifyCard answers")
        .into_inner()
}

/// Rotates `app`'s signing key as an operator: the next key, signing after `prepublish_seconds`.
pub(crate) async fn rotate(app: &TestApp, prepublish_seconds: u32) -> pb::SigningKey {
    app.admin()
        .await
        .rotate_keys(pb::RotateKeysRequest { prepublish_seconds })
        .await
        .expect("rotated")
        .into_inner()
        .next_key
        .expect("next key")
}
