# Stepwise in a container: `stepwise serve` on port 8080, its SQLite database in the volume
# /var/lib/stepwise. docs/deploy.md ("Or: the container image") explains how to run it;
# scripts/check-deploy lints this file with hadolint (.hadolint.yaml).
#
#   docker build -t stepwise .
#   docker run -d --name stepwise -v stepwise-data:/var/lib/stepwise \
#       -p 127.0.0.1:8080:8080 stepwise
#
# PostgreSQL instead of SQLite: -e STEPWISE_DATABASE=postgres://USER:PASSWORD@HOST/DB.
# Every `stepwise serve` flag has a STEPWISE_* variable (README, "Configuration").

# --- build -------------------------------------------------------------------------------
# The build needs only Rust and a C compiler (with make and perl, which this image has):
# OpenSSL, libdbus and SQLite are compiled from source by their crates, so there are no -dev
# packages and no pkg-config to install.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations
COPY web web
# The caches keep downloaded crates and compiled dependencies between builds (BuildKit, the
# default builder since Docker 23). target/ is a cache, so the binary is copied out of it here.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p stepwise \
    && install -D -m 0755 target/release/stepwise /out/stepwise

# --- run ---------------------------------------------------------------------------------
FROM debian:bookworm-slim
# CA certificates, for the TLS connections to browsers' push services.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed, non-root uid, so that a bind-mounted data directory can be given to it:
# chown 10001:10001 DIR on the host.
RUN groupadd --system --gid 10001 stepwise \
    && useradd --system --uid 10001 --gid stepwise --home-dir /var/lib/stepwise \
        --no-create-home --shell /usr/sbin/nologin stepwise \
    && install -d -o stepwise -g stepwise -m 0750 /var/lib/stepwise
COPY --from=builder /out/stepwise /usr/local/bin/stepwise
# A named volume starts as a copy of this directory, owned by the stepwise user.
VOLUME /var/lib/stepwise
WORKDIR /var/lib/stepwise
ENV STEPWISE_DATABASE=sqlite:/var/lib/stepwise/stepwise.db \
    STEPWISE_LISTEN=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: this image has no curl or wget and stepwise has no health subcommand. Point
# the orchestrator's HTTP check at GET /healthz (200 when the database answers).
# `stepwise serve` finishes its requests and stops cleanly on SIGTERM, what `docker stop` sends.
ENTRYPOINT ["stepwise"]
CMD ["serve"]
