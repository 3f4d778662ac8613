//! `stepwise serve`: open the store, bind, serve until Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use stepwise_server::clock::SystemClock;
use stepwise_server::{AppState, Config};

#[derive(Args)]
pub struct ServeArgs {
    /// Database URL: `sqlite:PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "STEPWISE_DATABASE", default_value = "sqlite:stepwise.db")]
    pub database: String,
    /// Address to listen on.
    #[arg(long, env = "STEPWISE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Mark the session cookie Secure (set when clients reach the server over HTTPS).
    #[arg(long, env = "STEPWISE_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
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
        let config = Config {
            secure_cookies: args.secure_cookies,
            ..Config::default()
        };
        let state = AppState::new(store, Arc::new(SystemClock), config);
        let addr = listener.local_addr()?;
        tracing::info!(%addr, database = %stepwise_store::redact(&args.database), "Stepwise serving");
        eprintln!("Stepwise is listening on http://{addr}  (API docs: http://{addr}/api/docs)");
        stepwise_server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
    })
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
