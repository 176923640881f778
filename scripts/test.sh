#!/usr/bin/env bash
# keygate's whole test suite: the README's test command, and what .ci/run calls.
#
# Starts LocalStack (scripts/localstack.sh: installed on first use into .localstack/) so the
# AWS provider's conformance tests run against it, exports KEYGATE_TEST_AWS_ENDPOINT for them,
# installs the AWS Encryption SDK CLI (scripts/esdk.sh) and exports KEYGATE_TEST_ESDK_CLI,
# installs tmux if missing (the console's end-to-end test; KEYGATE_TEST_TMUX=1 makes it
# required), builds the book (scripts/book.sh), runs `cargo test --workspace --locked "$@"`,
# and stops LocalStack on exit if it started it. Without KEYGATE_TEST_PG_URL it also starts a
# throwaway PostgreSQL cluster (scripts/postgres.sh: Debian's `postgresql` package, installed
# if missing) for the PostgreSQL store tests, exports KEYGATE_TEST_PG_URL, and stops and
# removes the cluster on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

started_localstack=0
if ! scripts/localstack.sh status 2>/dev/null; then
    started_localstack=1
fi
started_postgres=0
stop_services() {
    if (( started_localstack )); then
        scripts/localstack.sh stop || true
    fi
    if (( started_postgres )); then
        scripts/postgres.sh stop || true
    fi
}
trap stop_services EXIT

# `start` prints `export KEYGATE_TEST_AWS_ENDPOINT=...`. Assigned first so that a failed
# start stops the script (`eval "$(...)"` would swallow the failure).
localstack_env="$(scripts/localstack.sh start)"
eval "$localstack_env"
# LocalStack takes any credentials; these keep the tests off real AWS credentials.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

# PostgreSQL for the PostgreSQL store tests, unless the caller points them at a database.
if [[ -z "${KEYGATE_TEST_PG_URL:-}" ]]; then
    if ! scripts/postgres.sh status 2>/dev/null; then
        started_postgres=1
    fi
    postgres_env="$(scripts/postgres.sh start)"
    eval "$postgres_env"
fi

# The console's end-to-end test drives the real binary in tmux: install it where it is missing
# (Debian/Ubuntu), and make the test fail rather than skip without it.
if ! command -v tmux >/dev/null 2>&1; then
    echo "test.sh: installing tmux for the console end-to-end test" >&2
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq tmux; } \
        || echo "test.sh: could not install tmux; the console end-to-end test will fail" >&2
fi
export KEYGATE_TEST_TMUX=1

# The AWS Encryption SDK for Python and its CLI (scripts/esdk.sh: installed on first use into
# .esdk/), for the tests that cross ESDK messages with keygate; exports KEYGATE_TEST_ESDK_CLI.
esdk_env="$(scripts/esdk.sh install)"
eval "$esdk_env"

scripts/book.sh
cargo test --workspace --locked "$@"
