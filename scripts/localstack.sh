#!/usr/bin/env bash
# LocalStack (KMS only) for keygate's AWS provider tests, without Docker.
#
#   scripts/localstack.sh start    install if needed, start on 127.0.0.1:4566, wait for health;
#                                  prints `export KEYGATE_TEST_AWS_ENDPOINT=...` on stdout, so
#                                  `eval "$(scripts/localstack.sh start)"` sets the tests' env var
#   scripts/localstack.sh stop     stop the instance this script started (by its pid)
#   scripts/localstack.sh status   exit 0 and say so when running, exit 3 when not
#
# Everything lives in an ignored folder, `.localstack/` at the repo root (override with
# KEYGATE_LOCALSTACK_DIR): a Python virtualenv with a pinned LocalStack, its data, its log
# (`localstack.log`) and its pid file. Starting when running and installing when installed are
# no-ops. Only python3 (3.11+, with venv) is needed; uv is installed into the virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned recipe: newer LocalStack releases do not run outside Docker here.
LOCALSTACK_VERSION="4.10.0"
EXCLUDE_NEWER="2025-12-01"
PORT="${KEYGATE_LOCALSTACK_PORT:-4566}"
HEALTH_TIMEOUT="${KEYGATE_LOCALSTACK_TIMEOUT:-120}"

DIR="${KEYGATE_LOCALSTACK_DIR:-$PWD/.localstack}"
LOG="$DIR/localstack.log"
PIDFILE="$DIR/localstack.pid"
STAMP="$DIR/.installed-$LOCALSTACK_VERSION"
ENDPOINT="http://127.0.0.1:$PORT"
HEALTH="$ENDPOINT/_localstack/health"

say() { printf 'localstack: %s\n' "$*" >&2; }

python_bin() {
    for py in python3.11 python3.12 python3.13 python3; do
        if command -v "$py" >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    say "python3 is required (3.11 or newer, with the venv module)"
    return 1
}

install() {
    if [[ -f "$STAMP" && -x "$DIR/bin/python" ]]; then
        return 0
    fi
    local py started
    py="$(python_bin)"
    started=$(date +%s)
    say "installing LocalStack $LOCALSTACK_VERSION into $DIR (first run only)"
    mkdir -p "$DIR"
    "$py" -m venv "$DIR"
    "$DIR/bin/python" -m pip install --quiet --disable-pip-version-check uv
    "$DIR/bin/uv" pip install --quiet --python "$DIR/bin/python" \
        --exclude-newer "$EXCLUDE_NEWER" "localstack-core[runtime]==$LOCALSTACK_VERSION"
    touch "$STAMP"
    say "installed in $(( $(date +%s) - started ))s"
}

healthy() {
    # KMS must be listed as available (before first use) or running. curl when there is one,
    # else Python's urllib (python3 is needed anyway).
    local body
    if command -v curl >/dev/null 2>&1; then
        body="$(curl -fsS --max-time 2 "$HEALTH" 2>/dev/null)" || return 1
    else
        body="$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$HEALTH" 2>/dev/null)" ||
            return 1
    fi
    grep -Eq '"kms": *"(available|running)"' <<<"$body"
}

our_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

print_env() {
    echo "export KEYGATE_TEST_AWS_ENDPOINT=$ENDPOINT"
}

start() {
    if our_pid >/dev/null || healthy; then
        say "already running on $ENDPOINT"
        print_env
        return 0
    fi
    install
    mkdir -p "$DIR/vol"
    local started pid
    started=$(date +%s)
    say "starting on $ENDPOINT (log: $LOG)"
    # DNS_ADDRESS=0: no DNS server on port 53; SKIP_SSL_CERT_DOWNLOAD and DISABLE_EVENTS: no
    # calls out to the internet at start.
    GATEWAY_LISTEN="127.0.0.1:$PORT" SERVICES=kms LOCALSTACK_VOLUME_DIR="$DIR/vol" \
        DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
        nohup "$DIR/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"
    while ! healthy; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "exited during start; last lines of $LOG:"
            tail -n 40 "$LOG" >&2
            rm -f "$PIDFILE"
            return 1
        fi
        if (( $(date +%s) - started >= HEALTH_TIMEOUT )); then
            say "not healthy after ${HEALTH_TIMEOUT}s; last lines of $LOG:"
            tail -n 40 "$LOG" >&2
            stop
            return 1
        fi
        sleep 0.5
    done
    say "ready in $(( $(date +%s) - started ))s (pid $pid)"
    print_env
}

stop() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PIDFILE"
        say "not running (no live pid in $PIDFILE)"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid ignored SIGTERM for 10s; sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(our_pid)" && healthy; then
        say "running on $ENDPOINT (pid $pid)"
    elif healthy; then
        say "an instance this script did not start answers on $ENDPOINT"
    else
        say "not running"
        return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    install) install ;;
    *)
        echo "usage: $0 start|stop|status|install" >&2
        exit 2
        ;;
esac
