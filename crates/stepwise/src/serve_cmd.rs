//! `stepwise serve`: open the store, bind, serve until Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;
use clap::Args;
use stepwise_server::clock::SystemClock;
use stepwise_server::push::PushConfig;
use stepwise_server::reminders::ReminderConfig;
use stepwise_server::state::ImportConfig;
use stepwise_server::{AppState, Config, ConnectionLimits};

#[derive(Args)]
pub struct ServeArgs {
    /// Database URL: `sqlite:PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "STEPWISE_DATABASE", default_value = "sqlite:stepwise.db")]
    pub database: String,
    /// Address to listen on.
    #[arg(long, env = "STEPWISE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Serve Prometheus metrics at /metrics on this separate address (e.g. 127.0.0.1:9464).
    /// Off unless set; never on the app's own address.
    #[arg(long, env = "STEPWISE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Mark the session cookie Secure (set when clients reach the server over HTTPS).
    #[arg(long, env = "STEPWISE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address people reach this server at, e.g. `https://stepwise.clinic.example`: the
    /// start of the join and reset links (and their QR codes) staff hand over. Default: the
    /// address each request came to (its Host header).
    #[arg(long, env = "STEPWISE_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,
    /// Send e-mail (reset links people ask for, invites staff choose to e-mail) through this
    /// SMTP server: smtp://HOST:PORT, smtp://HOST:587?tls=required (STARTTLS),
    /// smtps://HOST:465, with USER:PASSWORD@ before the host when it wants a login. Needs
    /// --public-url (the links in e-mails start there). Off: nothing is e-mailed.
    #[arg(long, env = "STEPWISE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of Stepwise's e-mail. Default: Stepwise <stepwise@HOST of --public-url>.
    #[arg(long, env = "STEPWISE_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Contact for push services (the VAPID `sub` claim): a mailto: or https: URL.
    #[arg(
        long,
        env = "STEPWISE_PUSH_SUBJECT",
        default_value = "mailto:admin@stepwise.invalid"
    )]
    pub push_subject: String,
    /// Push services the server may post to, comma-separated: host, host:port or *.domain.
    /// Plain http is allowed only to a listed loopback host (for tests).
    #[arg(
        long,
        env = "STEPWISE_PUSH_HOSTS",
        value_delimiter = ',',
        default_value = "fcm.googleapis.com,*.push.services.mozilla.com,*.notify.windows.com,*.push.apple.com"
    )]
    pub push_hosts: Vec<String>,
    /// Longest wait for a push service's answer, milliseconds.
    #[arg(long, env = "STEPWISE_PUSH_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub push_timeout_ms: u64,
    /// How long an instance's claim on a reminder lasts before another instance may send it,
    /// seconds (must exceed the push timeout).
    #[arg(long, env = "STEPWISE_REMINDER_LEASE_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub reminder_lease_secs: i64,
    /// How often the scheduler looks for due reminders, milliseconds.
    #[arg(long, env = "STEPWISE_REMINDER_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub reminder_poll_ms: u64,
    /// Most connections open at once, in all; more are answered 503 and closed. Keep it well
    /// below the file descriptor limit (`ulimit -n`, systemd's LimitNOFILE).
    #[arg(long, env = "STEPWISE_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Most connections open at once from one client address (behind a reverse proxy on the
    /// same machine: from the proxy); more are answered 503 and closed.
    #[arg(long, env = "STEPWISE_MAX_CONNECTIONS_PER_CLIENT",
          default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections_per_client: u64,
    /// The largest export a patient or their care team may upload on the "Import from your
    /// phone" page, in bytes (docs/imports.md).
    #[arg(long, env = "STEPWISE_IMPORT_MAX_BYTES",
          default_value_t = stepwise_server::state::DEFAULT_IMPORT_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub import_max_bytes: u64,
    /// Where uploaded exports wait while they are read (each is removed once read); default:
    /// `stepwise-imports` in the system's temporary directory.
    #[arg(long, env = "STEPWISE_IMPORT_DIR")]
    pub import_dir: Option<std::path::PathBuf>,
}

/// An http(s) URL with a host and nothing after the path (no query, no fragment).
fn public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("an http:// or https:// address with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("no query or fragment: the links add their own".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl ServeArgs {
    /// The server settings these flags describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let push = PushConfig {
            subject: self.push_subject.clone(),
            allowed_hosts: self
                .push_hosts
                .iter()
                .map(|h| h.trim().to_string())
                .collect(),
            send_timeout: Duration::from_millis(self.push_timeout_ms),
        };
        let reminders = ReminderConfig {
            lease: TimeDelta::seconds(self.reminder_lease_secs),
            poll: Duration::from_millis(self.reminder_poll_ms),
            ..ReminderConfig::default()
        };
        if reminders.lease.num_milliseconds() <= 2 * self.push_timeout_ms as i64 {
            anyhow::bail!(
                "--reminder-lease-secs ({} s) must be more than twice --push-timeout-ms ({} ms), \
                 or another instance could send a reminder this one is still sending",
                self.reminder_lease_secs,
                self.push_timeout_ms
            );
        }
        let mailer = match &self.smtp_url {
            None => None,
            Some(smtp_url) => {
                let Some(public_url) = &self.public_url else {
                    anyhow::bail!(
                        "--smtp-url needs --public-url: the links in e-mails must start at the \
                         address people reach this server at, never at whatever a request's \
                         Host header says"
                    );
                };
                let from = match &self.mail_from {
                    Some(from) => from.clone(),
                    None => {
                        let host = url::Url::parse(public_url)?
                            .host_str()
                            .unwrap_or("localhost")
                            .to_string();
                        format!("Stepwise <stepwise@{host}>")
                    }
                };
                Some(stepwise_server::mail::Mailer::new(smtp_url, &from)?)
            }
        };
        Ok(Config {
            secure_cookies: self.secure_cookies,
            public_url: self.public_url.clone(),
            mailer,
            push,
            reminders,
            connection_limits: ConnectionLimits {
                total: usize::try_from(self.max_connections)?,
                per_client: usize::try_from(self.max_connections_per_client)?,
            },
            imports: ImportConfig {
                max_upload_bytes: self.import_max_bytes,
                dir: self
                    .import_dir
                    .clone()
                    .unwrap_or_else(|| ImportConfig::default().dir),
            },
            ..Config::default()
        })
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    runtime()?.block_on(async {
        let store = stepwise_store::connect(&args.database)
            .await
            .with_context(|| format!("opening {}", stepwise_store::redact(&args.database)))?;
        if store.count_users().await? == 0 {
            eprintln!(
                "The database is empty. Create the first clinic and its admin with:\n  \
                 stepwise admin create-clinic --database {} --name \"My clinic\" \
                 --admin-email admin@example.org --admin-name \"Clinic admin\"\n\
                 (the password is read from STEPWISE_ADMIN_PASSWORD or standard input)",
                stepwise_store::redact(&args.database)
            );
        }
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let state = AppState::new(store, Arc::new(SystemClock), config);
        let metrics = match &args.metrics_listen {
            Some(address) => Some(serve_metrics(address, &state).await?),
            None => None,
        };
        let addr = listener.local_addr()?;
        tracing::info!(%addr, database = %stepwise_store::redact(&args.database), "Stepwise serving");
        eprintln!(
            "Stepwise is listening on http://{addr}  (the app: http://{addr}/app, API docs: http://{addr}/api/docs)"
        );
        let served = stepwise_server::serve(listener, state, stopped())
        .await
        .context("serving");
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served
    })
}

/// Binds the metrics address and serves `/metrics` there in the background.
async fn serve_metrics(
    address: &str,
    state: &AppState,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for metrics on {address}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "metrics served");
    eprintln!("Metrics for Prometheus: http://{addr}/metrics");
    let routes = stepwise_server::handlers::system::metrics_routes(state.clone());
    Ok(tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, routes).await {
            tracing::error!(error = %err, "serving metrics");
        }
    }))
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
pub async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches};

    use super::ServeArgs;

    fn serve(flags: &[&str]) -> anyhow::Result<ServeArgs> {
        let matches = ServeArgs::augment_args(clap::Command::new("serve"))
            .try_get_matches_from(std::iter::once("serve").chain(flags.iter().copied()))?;
        Ok(ServeArgs::from_arg_matches(&matches)?)
    }

    #[test]
    fn e_mail_needs_the_public_address_and_names_its_sender_after_it() {
        let err = serve(&["--smtp-url", "smtp://127.0.0.1:2525"])
            .unwrap()
            .config()
            .unwrap_err();
        assert!(
            err.to_string().contains("--smtp-url needs --public-url"),
            "{err}"
        );
        let config = serve(&[
            "--smtp-url",
            "smtp://user:secret@127.0.0.1:2525",
            "--public-url",
            "https://stepwise.clinic.example/",
        ])
        .unwrap()
        .config()
        .unwrap();
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://stepwise.clinic.example")
        );
        let mailer = format!("{:?}", config.mailer.expect("a mailer"));
        assert!(
            mailer.contains("stepwise@stepwise.clinic.example"),
            "{mailer}"
        );
        assert!(!mailer.contains("secret"), "{mailer}");
        assert!(serve(&["--public-url", "https://x.example/?a=1"]).is_err());
        assert!(serve(&["--public-url", "ftp://x.example"]).is_err());
    }
}
