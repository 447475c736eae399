# syntax=docker/dockerfile:1
# The dctwin image for distributed sweeps (examples/kubernetes/, docs/distributed.md): the release
# binary, the scenarios with the GPU catalog, and the example sweep and sizing files, run as a non-root
# user. Build from the repository root:
#
#   docker build -t dctwin:0.1.0 .
#   docker run --rm dctwin:0.1.0 validate scenarios/quickstart.ron
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD/results:/results" dctwin:0.1.0 \
#       sweep examples/sweeps/quickstart-seeds.ron --out /results/quickstart-seeds
#
# Scenarios that read weather, carbon or trace files from ../../shared/ find them when the data is
# mounted at /shared (-v /path/to/shared:/shared:ro). Outputs go to a mounted volume: give --out a
# directory *inside* the mount (/results/NAME), never the mount point itself.
# CI lints this file (hadolint) and checks the build context has everything `cargo build` needs.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crates.io downloads and the target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dctwin \
    && install -m 0755 target/release/dctwin /usr/local/bin/dctwin

# Same Debian release as the builder: the binary needs its glibc and nothing else.
FROM debian:trixie-slim
RUN groupadd --system --gid 10001 dctwin \
    && useradd --system --uid 10001 --gid dctwin --home-dir /work --no-create-home \
        --shell /usr/sbin/nologin dctwin
COPY --from=build /usr/local/bin/dctwin /usr/local/bin/dctwin
WORKDIR /work
COPY scenarios /work/scenarios
COPY examples/sweeps /work/examples/sweeps
COPY examples/sizing /work/examples/sizing
COPY examples/calibrate /work/examples/calibrate
# Runs write where they are told (--out on a volume); out/ is there for the default --out of a plain run.
RUN mkdir /work/out && chown dctwin:dctwin /work/out
USER 10001:10001
ENTRYPOINT ["dctwin"]
CMD ["--help"]
