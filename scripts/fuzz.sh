#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60), one after another.
#
#   scripts/fuzz.sh [SECONDS]
#
# libFuzzer needs a nightly toolchain (FUZZ_TOOLCHAIN, default `nightly`). cargo-fuzz is
# installed if missing. The committed corpus fuzz/corpus/<target> is read but not written:
# new inputs go to a scratch directory (FUZZ_WORK, default a temporary one) and crashes to
# fuzz/artifacts/<target>/. A crash becomes a regression test by copying its input into
# fuzz/corpus/<target>/ (see docs/src/development/testing.md, "Fuzzing").
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_SANITIZER (default `none`: keygate
# forbids unsafe code; `address` for ASan), FUZZ_TOOLCHAIN, FUZZ_WORK.
set -euo pipefail

seconds="${1:-60}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
sanitizer="${FUZZ_SANITIZER:-none}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/keygate-fuzz.XXXXXX")}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
targets="${FUZZ_TARGETS:-$(cargo +"$toolchain" fuzz list)}"
cargo +"$toolchain" fuzz build -s "$sanitizer"

status=0
summary=""
for target in $targets; do
    mkdir -p "$work/$target" "corpus/$target"
    log="$work/$target.log"
    echo "== $target: ${seconds}s (log: $log)"
    if cargo +"$toolchain" fuzz run -s "$sanitizer" "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        result="ok"
    else
        result="FAILED (see $log and fuzz/artifacts/$target/)"
        status=1
    fi
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    summary+="$(printf '%-18s %12s execs  %s' "$target" "${execs:-?}" "$result")"$'\n'
done
printf '\n%s' "$summary"
exit "$status"
