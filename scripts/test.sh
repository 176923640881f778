#!/usr/bin/env bash
# keygate's whole test suite: the README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked "$@"
