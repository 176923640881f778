#!/usr/bin/env bash
# keygate's benchmark (not a test: never run by scripts/test.sh or CI). Builds release, serves a
# throwaway home on a free loopback port, drives it with external load generators (wrk for
# saturation, hey for a constant rate), runs the audit, file, CLI start-up and re-wrap
# measurements, and prints every ratio of the performance table (issue 17) as the median and
# the min–max of --runs runs, with the machine it ran on.
#
#   scripts/bench.sh [--quick] [--runs N] [--seconds S] [--connections C] [--no-build]
#                    [--only http,audit,files,startup,rewrap]
#
# --quick: 3 s per load phase, 100,000 audit rows, 128 MiB files (a smoke run, not a result).
# Full: 10 s per phase, 32 connections, 1,000,000 audit rows, 1 GiB files; roughly 10 minutes
# besides the build (4 of them load phases). Needs wrk, hey, age, openssl, python3, curl and
# GNU time (Debian: `apt-get install wrk hey age openssl python3 curl time`) and ~4 GiB free in
# $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

QUICK=0 RUNS=3 SECONDS_PER_PHASE=10 CONNECTIONS=32 BUILD=1 ONLY="http,audit,files,startup,rewrap"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 SECONDS_PER_PHASE=3 ;;
        --runs) RUNS=$2; shift ;;
        --seconds) SECONDS_PER_PHASE=$2; shift ;;
        --connections) CONNECTIONS=$2; shift ;;
        --no-build) BUILD=0 ;;
        --only) ONLY=$2; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then AUDIT_ROWS=100000 FILE_MIB=128; else AUDIT_ROWS=1000000 FILE_MIB=1024; fi
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

for tool in wrk hey age age-keygen openssl python3 curl /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool is missing (Debian: apt-get install wrk hey age openssl python3 curl time)" >&2
        exit 2
    }
done

TARGET=${CARGO_TARGET_DIR:-$REPO/target}
if [ "$BUILD" = 1 ]; then
    echo "building release (keygate and examples/audit_fill)..." >&2
    cargo build --release --quiet -p keygate --bin keygate --example audit_fill
fi
# KEYGATE_BENCH_BIN_DIR: another build's directory (e.g. target/debug, to try the script out;
# figures from a debug build mean nothing).
BIN_DIR=${KEYGATE_BENCH_BIN_DIR:-$TARGET/release}
BIN=$BIN_DIR/keygate
FILL=$BIN_DIR/examples/audit_fill
[ -x "$BIN" ] && [ -x "$FILL" ] || { echo "bench.sh: no release build in $TARGET (drop --no-build)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate-bench.XXXXXX")
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers
RESULTS=$WORK/results # lines: name<TAB>value
record() { printf '%s\t%s\n' "$1" "$2" >>"$RESULTS"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.4f", a / b }'; }
# stats NAME [SCALE] [DECIMALS]: "median (min–max)" of NAME's recorded values times SCALE.
stats() {
    awk -F'\t' -v n="$1" -v s="${2:-1}" -v d="${3:-2}" '$1 == n { v[c++] = $2 * s }
        END {
            if (c == 0) { print "n/a"; exit }
            for (i = 0; i < c; i++) for (j = i + 1; j < c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            m = (c % 2) ? v[int(c / 2)] : (v[c / 2 - 1] + v[c / 2]) / 2
            f = "%." d "f"
            printf(f " (" f "–" f ")\n", m, v[0], v[c - 1])
        }' "$RESULTS"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
kg() { KEYGATE_HOME=$HOME_DIR "$BIN" "$@"; }

# ---------------------------------------------------------------- the machine
{
    echo "keygate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), script at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    # With KEYGATE_BENCH_BIN_DIR the binaries may come from another commit than the script:
    # name them, and their modification time, so a table says what it measured.
    echo "binaries: $BIN ($(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')$([ -n "${KEYGATE_BENCH_BIN_DIR:-}" ] && echo ', from KEYGATE_BENCH_BIN_DIR: not necessarily built from the commit above'))"
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runs: $RUNS; load phases: ${SECONDS_PER_PHASE} s, $CONNECTIONS connections; audit rows: $AUDIT_ROWS; files: $FILE_MIB MiB"
    echo "tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), hey, age $(age --version), $(openssl version | cut -d' ' -f1-2)"
} | tee "$WORK/header"

# ---------------------------------------------------------------- the HTTP benchmarks
HOME_DIR=$WORK/home
mkdir -p "$HOME_DIR"
PORT=$(free_port)
# Explicit, far above what 2 cores can serve: the benchmark measures the gateway, not its
# limiter (the default, 500/s per principal with a burst of 1000, would answer mostly 429).
cat >"$HOME_DIR/keygate.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
[server.rate_limit]
per_second = 1000000
burst = 1000000
[scheduler]
interval_secs = 0
EOF

start_server() { # start_server CACHE(true|false)
    KEYGATE_CACHE__ENABLED=$1 KEYGATE_HOME=$HOME_DIR "$BIN" serve >>"$WORK/serve.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && return 0
        sleep 0.1
    done
    echo "bench.sh: the gateway did not start; its log:" >&2
    tail -20 "$WORK/serve.log" >&2
    exit 1
}
stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# wrk NAME URL LUA: saturated throughput; records NAME.rps and NAME.p99_ms. Fails on any
# answer that is not a 2xx.
run_wrk() {
    local out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_PHASE}s" --timeout 10s -s "$3" "$2")
    local line
    line=$(grep '^BENCH ' <<<"$out") || { echo "$out" >&2; exit 1; }
    read -r _ requests duration_us bad_status socket_errors p50_us p99_us <<<"$line"
    if [ "$bad_status" -gt 0 ]; then
        echo "bench.sh: $1: $bad_status answers of $requests were not 2xx" >&2
        tail -5 "$WORK/serve.log" >&2
        exit 1
    fi
    # Requests that timed out or lost their connection are not counted in the rate.
    [ "$socket_errors" -gt 0 ] && echo "  ($1: $socket_errors socket errors or timeouts, not counted)"
    record "$1.rps" "$(div "$requests" "$(div "$duration_us" 1000000)")"
    record "$1.p99_ms" "$(div "$p99_us" 1000)"
    printf '  %-18s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n' "$1" \
        "$(div "$requests" "$(div "$duration_us" 1000000)")" "$(div "$p50_us" 1000)" "$(div "$p99_us" 1000)"
}

# hey NAME RATE ARGS...: a constant total RATE (req/s) over the connections for about a phase's
# length (hey sends n / c requests per connection, so n is a multiple of c); records NAME.p99_ms, computed from hey's per-request CSV (its own percentile summary
# is unreliable in Debian's hey 0.1.4). Fails on any answer that is not a 200.
run_hey() {
    local name=$1 rate=$2
    shift 2
    local per_worker n t elapsed
    per_worker=$(awk -v r="$rate" -v c="$CONNECTIONS" 'BEGIN { printf "%.2f", r / c }')
    n=$(awk -v r="$rate" -v s="$SECONDS_PER_PHASE" -v c="$CONNECTIONS" \
        'BEGIN { n = int(r * s); n = int((n + c - 1) / c) * c; if (n < c) n = c; print n }')
    t=$(now)
    hey -n "$n" -c "$CONNECTIONS" -q "$per_worker" -o csv "$@" >"$WORK/hey.csv"
    elapsed=$(since "$t")
    local rows bad p99
    rows=$(awk -F, 'NR > 1' "$WORK/hey.csv" | wc -l)
    bad=$(awk -F, 'NR > 1 && $7 != 200' "$WORK/hey.csv" | wc -l)
    if [ "$bad" -gt 0 ] || [ "$rows" -lt $((n * 99 / 100)) ]; then
        echo "bench.sh: $name: $rows answers of $n requests, $bad of them not 200" >&2
        exit 1
    fi
    p99=$(awk -F, 'NR > 1 { print $1 }' "$WORK/hey.csv" | sort -g |
        awk -v n="$rows" '{ v[NR] = $1 } END { i = int(n * 0.99 + 0.999); if (i < 1) i = 1; printf "%.3f", v[i] * 1000 }')
    record "$name.p99_ms" "$p99"
    printf '  %-18s %8.0f req/s  (offered %.0f)      p99 %6.2f ms\n' "$name" "$(div "$rows" "$elapsed")" "$rate" "$p99"
}

lua() { # lua FILE METHOD BODY_FILE HEADERS_FILE: a wrk script with fixed method, body, headers
    cat >"$1" <<EOF
wrk.method = "$2"
local body = "$3"
if body ~= "" then wrk.body = io.open(body, "rb"):read("*a") end
for line in io.lines("$4") do
    local k, v = line:match("^([^:]+): (.*)$")
    if k then wrk.headers[k] = v end
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
        e.status, e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
EOF
}

# The AWS door's SigV4 headers for BODY, signed now: keygate accepts a request signed within
# the last 5 minutes and keeps no nonce (as AWS KMS), so one signature serves a whole phase.
sign_aws() { # sign_aws BODY_FILE OUT_HEADERS
    python3 - "$1" "$2" "$PORT" "$AWS_AKID" "$AWS_SECRET" <<'EOF'
import hashlib, hmac, sys, datetime
body_file, out, port, akid, secret = sys.argv[1:]
body = open(body_file, "rb").read()
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
headers = {
    "content-type": "application/x-amz-json-1.1",
    "host": f"127.0.0.1:{port}",
    "x-amz-date": amz_date,
    "x-amz-target": "TrentService.Encrypt",
}
signed = ";".join(sorted(headers))
canonical = "POST\n/\n\n" + "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)) + "\n" + signed + "\n" + hashlib.sha256(body).hexdigest()
scope = f"{day}/us-east-1/kms/aws4_request"
to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
key = ("AWS4" + secret).encode()
for part in (day, "us-east-1", "kms", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
with open(out, "w") as f:
    for k in sorted(headers):
        f.write(f"{k.title()}: {headers[k]}\n")
    f.write(f"Authorization: AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={signed}, Signature={sig}\n")
EOF
}

http_bench() {
    echo
    echo "== HTTP: wrk (saturation, 2 threads) and hey (constant rate), server: keygate serve"
    echo "   rate limit: per_second = 1000000, burst = 1000000 (keygate.toml: far above what this"
    echo "   machine serves, so no request is refused; the default 500/s would answer mostly 429)"
    kg keys create bench --spec AES_256 --label app=bench >/dev/null
    TOKEN=$(kg token create --principal bench --role app --output json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    read -r AWS_AKID AWS_SECRET < <(kg token create --principal bench --role app --aws --output json |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["access_key_id"], d["secret_access_key"])')
    local base="http://127.0.0.1:$PORT"
    head -c 1024 /dev/urandom >"$WORK/plain.bin"
    python3 - "$WORK" <<'EOF'
import base64, json, sys
work = sys.argv[1]
p = base64.b64encode(open(f"{work}/plain.bin", "rb").read()).decode()
json.dump({"key": "bench", "plaintext": p}, open(f"{work}/encrypt.json", "w"))
json.dump({"KeyId": "bench", "Plaintext": p}, open(f"{work}/aws.json", "w"))
EOF
    printf 'Authorization: Bearer %s\n' "$TOKEN" >"$WORK/auth.h"
    printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$TOKEN" >"$WORK/json.h"
    lua "$WORK/noop.lua" GET "" "$WORK/auth.h"
    lua "$WORK/encrypt.lua" POST "$WORK/encrypt.json" "$WORK/json.h"

    start_server false
    curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary @"$WORK/encrypt.json" "$base/v1/encrypt" |
        python3 -c 'import json, sys; json.dump({"ciphertext": json.load(sys.stdin)["ciphertext"]}, open(sys.argv[1], "w"))' "$WORK/decrypt.json"
    lua "$WORK/decrypt.lua" POST "$WORK/decrypt.json" "$WORK/json.h"
    sign_aws "$WORK/aws.json" "$WORK/aws.h"
    curl -sf -o /dev/null -X POST -H @"$WORK/aws.h" --data-binary @"$WORK/aws.json" "$base/" || {
        echo "bench.sh: the AWS door refused the signed Encrypt" >&2
        exit 1
    }
    stop_server

    for run in $(seq 1 "$RUNS"); do
        echo "-- run $run/$RUNS, data-key cache off (load average $(cut -d' ' -f1 /proc/loadavg))"
        start_server false
        run_wrk noop "$base/v1/noop" "$WORK/noop.lua"
        run_wrk encrypt "$base/v1/encrypt" "$WORK/encrypt.lua"
        run_wrk decrypt "$base/v1/decrypt" "$WORK/decrypt.lua"
        sign_aws "$WORK/aws.json" "$WORK/aws.h"
        lua "$WORK/aws.lua" POST "$WORK/aws.json" "$WORK/aws.h"
        run_wrk aws_encrypt "$base/" "$WORK/aws.lua"
        local half
        half=$(awk -F'\t' '$1 == "encrypt.rps" { v = $2 } END { printf "%.0f", v / 2 }' "$RESULTS")
        run_hey encrypt_half "$half" -m POST -T application/json -D "$WORK/encrypt.json" \
            -H "Authorization: Bearer $TOKEN" "$base/v1/encrypt"
        run_hey noop_half "$half" -H "Authorization: Bearer $TOKEN" "$base/v1/noop"
        stop_server
        echo "-- run $run/$RUNS, data-key cache on"
        start_server true
        run_wrk noop_cached "$base/v1/noop" "$WORK/noop.lua"
        run_wrk encrypt_cached "$base/v1/encrypt" "$WORK/encrypt.lua"
        stop_server
        # This run's ratios, each between phases of the same server.
        local v
        for pair in "encrypt/noop:encrypt.rps:noop.rps" "encrypt_cached/noop:encrypt_cached.rps:noop_cached.rps" \
            "decrypt/noop:decrypt.rps:noop.rps" "aws/rest:aws_encrypt.rps:encrypt.rps" \
            "p99_half:encrypt_half.p99_ms:noop_half.p99_ms"; do
            IFS=: read -r name a b <<<"$pair"
            v=$(awk -F'\t' -v a="$a" -v b="$b" '$1 == a { x = $2 } $1 == b { y = $2 }
                END { if (y == 0) print "nan"; else printf "%.4f", x / y }' "$RESULTS")
            record "ratio.$name" "$v"
        done
    done
}

# ---------------------------------------------------------------- audit verify and query
audit_bench() {
    echo
    echo "== audit: $AUDIT_ROWS rows through the audit writer (examples/audit_fill), then the CLI"
    local home=$WORK/audit-home
    "$FILL" "$home" "$AUDIT_ROWS"
    KEYGATE_HOME=$home "$BIN" audit verify >/dev/null # warm the page cache
    for run in $(seq 1 "$RUNS"); do
        local t
        t=$(now)
        KEYGATE_HOME=$home "$BIN" audit verify >"$WORK/verify.out"
        record audit.verify_s "$(since "$t")"
        t=$(now)
        KEYGATE_HOME=$home "$BIN" audit export --format jsonl --key local://bench-7 --principal heavy >"$WORK/query.out"
        record audit.query_s "$(since "$t")"
        printf '  run %d: verify %.2f s, query %.3f s (%d rows)\n' "$run" \
            "$(awk -F'\t' '$1 == "audit.verify_s" { v = $2 } END { print v }' "$RESULTS")" \
            "$(awk -F'\t' '$1 == "audit.query_s" { v = $2 } END { print v }' "$RESULTS")" \
            "$(wc -l <"$WORK/query.out")"
    done
    head -3 "$WORK/verify.out" | sed 's/^/  verify: /'
    rm -rf "$home"
}

# ---------------------------------------------------------------- files: keygate vs age vs openssl
files_bench() {
    echo
    echo "== files: $FILE_MIB MiB, keygate encrypt (embedded, local key) vs age vs openssl enc -aes-256-ctr"
    local home=$WORK/files-home f=$WORK/file.bin
    mkdir -p "$home"
    KEYGATE_HOME=$home "$BIN" keys create filekey --spec AES_256 >/dev/null
    head -c "$((FILE_MIB * 1048576))" /dev/urandom >"$f"
    age-keygen -o "$WORK/age.key" 2>/dev/null
    local recipient gib
    recipient=$(age-keygen -y "$WORK/age.key")
    gib=$(div "$FILE_MIB" 1024)
    local key iv
    key=$(openssl rand -hex 32) iv=$(openssl rand -hex 16)
    cat "$f" >/dev/null
    for run in $(seq 1 "$RUNS"); do
        local t
        t=$(now)
        KEYGATE_HOME=$home "$BIN" encrypt --key filekey -i "$f" -o "$WORK/file.kge"
        record files.keygate_gibs "$(div "$gib" "$(since "$t")")"
        rm -f "$WORK/file.kge"
        t=$(now)
        age -r "$recipient" -o "$WORK/file.age" "$f"
        record files.age_gibs "$(div "$gib" "$(since "$t")")"
        rm -f "$WORK/file.age"
        t=$(now)
        openssl enc -aes-256-ctr -K "$key" -iv "$iv" -in "$f" -out "$WORK/file.ctr"
        record files.openssl_gibs "$(div "$gib" "$(since "$t")")"
        rm -f "$WORK/file.ctr"
        local k a o
        k=$(awk -F'\t' '$1 == "files.keygate_gibs" { v = $2 } END { print v }' "$RESULTS")
        a=$(awk -F'\t' '$1 == "files.age_gibs" { v = $2 } END { print v }' "$RESULTS")
        o=$(awk -F'\t' '$1 == "files.openssl_gibs" { v = $2 } END { print v }' "$RESULTS")
        record ratio.keygate/age "$(div "$k" "$a")"
        record ratio.keygate/openssl "$(div "$k" "$o")"
        printf '  run %d: keygate %.2f GiB/s, age %.2f GiB/s, openssl %.2f GiB/s\n' "$run" "$k" "$a" "$o"
    done
    rm -f "$f"
    rm -rf "$home"
}

# ---------------------------------------------------------------- CLI start-up
startup_bench() {
    echo
    echo "== CLI start-up: keygate keys list on an empty home (its files created by a first call)"
    local home=$WORK/empty-home
    mkdir -p "$home"
    KEYGATE_HOME=$home "$BIN" keys list >/dev/null
    for run in $(seq 1 "$RUNS"); do
        local t
        t=$(now)
        KEYGATE_HOME=$home "$BIN" keys list >/dev/null
        record startup.keys_list_ms "$(awk -v s="$(since "$t")" 'BEGIN { print s * 1000 }')"
    done
    echo "  $(stats startup.keys_list_ms 1 1) ms"
    rm -rf "$home"
}

# ---------------------------------------------------------------- re-wrap vs re-encrypt
rewrap_bench() {
    echo
    echo "== re-wrap vs re-encrypt: $FILE_MIB MiB envelope, key A (provider local) -> key B (provider escrow, a"
    echo "   second local provider in the same home); wall and CPU (user+sys) from GNU time"
    local home=$WORK/rewrap-home f=$WORK/big.bin
    mkdir -p "$home"
    cat >"$home/keygate.toml" <<'EOF'
[providers.local]
kind = "local"
[providers.escrow]
kind = "local"
path = "escrow.db"
EOF
    KEYGATE_HOME=$home "$BIN" keys create key-a --spec AES_256 --provider local >/dev/null
    KEYGATE_HOME=$home "$BIN" keys create key-b --spec AES_256 --provider escrow >/dev/null
    head -c "$((FILE_MIB * 1048576))" /dev/urandom >"$f"
    KEYGATE_HOME=$home "$BIN" encrypt --key key-a -i "$f" -o "$WORK/big.kge"
    rm -f "$f"
    timed() { # timed NAME COMMAND...: records NAME.wall_s and NAME.cpu_s
        local name=$1
        shift
        KEYGATE_HOME=$home /usr/bin/time -f '%e %U %S' -o "$WORK/time.out" "$@"
        read -r wall user sys <"$WORK/time.out"
        record "$name.wall_s" "$wall"
        record "$name.cpu_s" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
        printf '  %-22s wall %6.2f s  cpu %6.2f s\n' "$name" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
    }
    for run in $(seq 1 "$RUNS"); do
        echo "  run $run/$RUNS"
        cp "$WORK/big.kge" "$WORK/inplace.kge"
        sync
        timed rewrap_in_place "$BIN" envelope rewrap -i "$WORK/inplace.kge" -o "$WORK/inplace.kge" \
            --add-key key-b --remove-key key-a
        timed rewrap_copy "$BIN" envelope rewrap -i "$WORK/big.kge" -o "$WORK/copy.kge" \
            --add-key key-b --remove-key key-a
        timed reencrypt bash -c "\"$BIN\" decrypt -i \"$WORK/big.kge\" | \"$BIN\" encrypt --key key-b -o \"$WORK/re.kge\""
        rm -f "$WORK/copy.kge" "$WORK/re.kge"
    done
    KEYGATE_HOME=$home "$BIN" envelope inspect "$WORK/inplace.kge" | sed -n '1,6p;/PROVIDER/,$p' | sed 's/^/  after: /'
    rm -f "$WORK/big.kge" "$WORK/inplace.kge"
    rm -rf "$home"
}

: >"$RESULTS"
wants http && http_bench
wants audit && audit_bench
wants files && files_bench
wants startup && startup_bench
wants rewrap && rewrap_bench

# ---------------------------------------------------------------- the table
echo
cat "$WORK/header"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "median (min–max) of $RUNS runs"
echo
echo "| measure | result | target |"
echo "| --- | --- | --- |"
if wants http; then
    echo "| REST 1 KiB encrypt / no-op, req/s, no data-key cache | $(stats ratio.encrypt/noop) | ≥ 0.6 |"
    echo "| same with the data-key cache on | $(stats ratio.encrypt_cached/noop) | ≥ 0.8 |"
    echo "| REST decrypt / no-op | $(stats ratio.decrypt/noop) | ≥ 0.6 |"
    echo "| AWS door Encrypt / REST encrypt (pre-signed SigV4) | $(stats ratio.aws/rest) | ≥ 0.9 |"
    echo "| p99 of encrypt / p99 of no-op at half the saturated encrypt rate | $(stats ratio.p99_half) | ≤ 1.5 |"
fi
if wants audit; then
    echo "| \`audit verify\`, $AUDIT_ROWS rows | $(stats audit.verify_s) s | ≤ 3 s |"
    echo "| audit query, one key + a principal with many rows, $AUDIT_ROWS rows | $(stats audit.query_s 1 3) s | ≤ 0.020 s |"
fi
if wants files; then
    echo "| \`keygate encrypt\` $FILE_MIB MiB file / \`age\` | $(stats ratio.keygate/age) | ≥ 1.0 |"
fi
if wants startup; then
    echo "| \`keygate keys list\` on an empty home (CLI start-up) | $(stats startup.keys_list_ms 1 0) ms | ≤ 50 ms |"
fi
echo
if wants http; then
    echo "| absolute | result |"
    echo "| --- | --- |"
    for m in noop encrypt decrypt aws_encrypt noop_cached encrypt_cached; do
        echo "| $m, req/s | $(stats "$m.rps" 1 0) |"
    done
    for m in encrypt noop; do
        echo "| $m p99 at half the saturated encrypt rate, ms | $(stats "${m}_half.p99_ms") |"
    done
fi
if wants files; then
    echo "| keygate encrypt, GiB/s | $(stats files.keygate_gibs) |"
    echo "| age, GiB/s | $(stats files.age_gibs) |"
    echo "| openssl enc -aes-256-ctr, GiB/s | $(stats files.openssl_gibs) |"
    echo "| keygate / openssl | $(stats ratio.keygate/openssl) |"
fi
if wants rewrap; then
    echo
    echo "| $FILE_MIB MiB envelope, key A -> key B | wall, s | CPU (user+sys), s |"
    echo "| --- | --- | --- |"
    echo "| \`envelope rewrap\` in place | $(stats rewrap_in_place.wall_s) | $(stats rewrap_in_place.cpu_s) |"
    echo "| \`envelope rewrap\` to a copy | $(stats rewrap_copy.wall_s) | $(stats rewrap_copy.cpu_s) |"
    echo "| \`decrypt \| encrypt --key B\` | $(stats reencrypt.wall_s) | $(stats reencrypt.cpu_s) |"
fi
