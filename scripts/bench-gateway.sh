#!/usr/bin/env bash
# Load benchmark of the REST API (not a test): the gateway in process on 127.0.0.1:0, N
# concurrent clients against GET /v1/noop, POST /v1/encrypt (1 KiB) and POST /v1/decrypt, one
# fixed-length phase each; prints req/s, p50/p99 and the encrypt/noop and decrypt/noop ratios.
# A quick look while changing the hot path; scripts/bench.sh is the full benchmark (external
# load generators, every measure of the performance table, three runs).
#
#   scripts/bench-gateway.sh [--seconds 10] [--clients 32] [--payload 1024]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p keygate --example loadgen -- "$@"
