# footfall: one static-ish binary (SQLite is bundled) on a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY static static
COPY templates templates
COPY examples examples
RUN cargo build --release --locked --bin footfall

FROM debian:bookworm-slim
RUN useradd --system --home /data --create-home footfall
COPY --from=build /src/target/release/footfall /usr/local/bin/footfall
USER footfall
WORKDIR /data
ENV FOOTFALL_LISTEN=0.0.0.0:8000 \
    FOOTFALL_DATABASE_URL=sqlite:///data/footfall.db
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["footfall"]
CMD ["serve"]
