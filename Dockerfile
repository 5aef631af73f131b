# The comptoir and replay binaries on a slim Debian. Build: docker build -t comptoir .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin comptoir --bin replay

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/comptoir comptoir
COPY --from=build /src/target/release/comptoir /src/target/release/replay /usr/local/bin/
USER comptoir
WORKDIR /var/lib/comptoir
ENV COMPTOIR_BIND=0.0.0.0:8080 COMPTOIR_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["comptoir"]
CMD ["serve"]
