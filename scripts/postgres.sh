#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for keygate's PostgreSQL store tests, without Docker.
#
#   scripts/postgres.sh start   install Debian's `postgresql` package if `initdb` is missing,
#                               `initdb` a cluster into a new temp dir (trust auth, loopback
#                               only), start it on a free 127.0.0.1 port with its unix socket
#                               in that dir, create the database `keygate`; prints
#                               `export KEYGATE_TEST_PG_URL=...` on stdout, so
#                               `eval "$(scripts/postgres.sh start)"` sets the tests' env var
#   scripts/postgres.sh stop    stop the cluster this script started and remove its dir
#   scripts/postgres.sh url     print the running cluster's URL (exit 3 when none runs)
#   scripts/postgres.sh status  exit 0 and say so when running, exit 3 when not
#
# The cluster's temp dir is recorded in `.postgres/dir` at the repo root (override the folder
# with KEYGATE_PG_STATE_DIR); starting when running is a no-op. The server never runs as root
# (PostgreSQL refuses to): under root the cluster belongs to the `postgres` user (override with
# KEYGATE_PG_USER), which the Debian package creates. The cluster is for tests only: fsync is
# off and every loopback connection is trusted.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE="${KEYGATE_PG_STATE_DIR:-$PWD/.postgres}"
DIRFILE="$STATE/dir"
DB=keygate
ROLE=keygate

say() { printf 'postgres: %s\n' "$*" >&2; }

# The directory of initdb/pg_ctl: on PATH, else Debian's versioned directory (newest).
pg_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        # The real directory: a symlinked initdb may have no createdb beside it.
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$dir" && -x "$dir/initdb" ]] || return 1
    echo "$dir"
}

install() {
    if pg_bindir >/dev/null; then
        return 0
    fi
    say "initdb not found: installing Debian's postgresql package"
    local sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >&2
    pg_bindir >/dev/null || { say "no initdb after installing postgresql"; return 1; }
}

# Runs a PostgreSQL program as the cluster's owner: ourselves, or an unprivileged user when we
# are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${KEYGATE_PG_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
        return 0
    fi
    local port
    for port in $(seq 25432 25532); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    say "no free port in 25432..25532"
    return 1
}

# The running cluster's dir, when this script started one that still runs.
our_dir() {
    local dir bin
    [[ -f "$DIRFILE" ]] || return 1
    dir="$(cat "$DIRFILE")"
    [[ -d "$dir/data" ]] || return 1
    bin="$(pg_bindir)" || return 1
    as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 1
    echo "$dir"
}

url_of() {
    echo "postgres://$ROLE@127.0.0.1:$(cat "$1/port")/$DB?sslmode=disable"
}

print_env() {
    echo "export KEYGATE_TEST_PG_URL='$(url_of "$1")'"
}

start() {
    local dir
    if dir="$(our_dir)"; then
        say "already running: $(url_of "$dir")"
        print_env "$dir"
        return 0
    fi
    install
    local bin port started
    bin="$(pg_bindir)"
    started=$(date +%s)
    mkdir -p "$STATE"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/keygate-pg.XXXXXX")"
    echo "$dir" >"$DIRFILE"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown "${KEYGATE_PG_USER:-postgres}" "$dir"; fi
    port="$(free_port)"
    echo "$port" >"$dir/port"
    as_owner "$bin/initdb" --pgdata="$dir/data" --username="$ROLE" --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
        say "initdb failed; its log:"
        cat "$dir/initdb.log" >&2
        return 1
    }
    # Loopback and the socket in the temp dir only.
    as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<'HBA'
local all all              trust
host  all all 127.0.0.1/32 trust
HBA
    say "starting on 127.0.0.1:$port (log: $dir/server.log)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
            -c full_page_writes=off -c max_connections=300" >/dev/null || {
        say "the server did not start; last lines of its log:"
        tail -n 40 "$dir/server.log" >&2 || true
        stop
        return 1
    }
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U "$ROLE" "$DB"
    say "ready in $(( $(date +%s) - started ))s"
    print_env "$dir"
}

stop() {
    local dir bin
    if [[ ! -f "$DIRFILE" ]]; then
        say "not running (no $DIRFILE)"
        return 0
    fi
    dir="$(cat "$DIRFILE")"
    if [[ -d "$dir/data" ]] && bin="$(pg_bindir)"; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    # Only ever a dir this script made.
    case "$dir" in
        */keygate-pg.*) rm -rf -- "$dir" ;;
    esac
    rm -f "$DIRFILE"
    say "stopped and removed $dir"
}

url() {
    local dir
    dir="$(our_dir)" || { say "not running"; return 3; }
    url_of "$dir"
}

status() {
    local dir
    if dir="$(our_dir)"; then
        say "running: $(url_of "$dir")"
    else
        say "not running"
        return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    status) status ;;
    install) install ;;
    *)
        echo "usage: $0 start|stop|url|status|install" >&2
        exit 2
        ;;
esac
