#!/usr/bin/env bash
# Re-baselines the CI regression gate after a deliberate change of the figures:
#   bash tests/golden/update.sh
# Runs each shipped scenario below and writes its summary (minus wall_time_s and dctwin_version)
# to tests/golden/<scenario>.json. Review the diff (git diff tests/golden) and commit it with the
# change that moved the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --bin dctwin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for s in quickstart trace-replay; do
    ./target/release/dctwin run "scenarios/$s.ron" --quiet --out "$out/$s"
    ./target/release/dctwin check "$out/$s" --baseline "tests/golden/$s.json" --update
done
