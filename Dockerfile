# Multi-stage build of the kpss service; the runtime image runs as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin kpss

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /app --create-home kpss
WORKDIR /app
COPY --from=build /src/target/release/kpss /usr/local/bin/kpss
USER kpss
# The seeds are built into the binary.
ENV KPSS_LISTEN=0.0.0.0:8080 KPSS_DATA_DIR=/app/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["kpss"]
CMD ["serve"]
