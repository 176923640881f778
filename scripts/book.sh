#!/usr/bin/env bash
# Builds the keygate book (docs/, an mdBook) into docs/book/. Installs the pinned mdbook first
# when it is not there: with `cargo install` from crates.io into a folder of its own
# (~/.cache/keygate/mdbook-<version>, or $KEYGATE_MDBOOK_ROOT), so another mdbook on the
# machine is neither used nor replaced. Needs only a Rust toolchain. Exits non-zero, with
# mdbook's error, when the book does not build (a chapter SUMMARY.md names is missing, an
# {{#include}} of a file that is not there, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned version. Built without its default features (the file watcher and the web server
# behind `mdbook serve` and `mdbook watch`, which `mdbook build` does not use) but with the
# book's search: measured on 2 shared cores, about 240 s of CPU (6 min) instead of 330 s
# (9 min) with the defaults; search itself costs 30 s.
MDBOOK_VERSION=0.5.4
root="${KEYGATE_MDBOOK_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/keygate/mdbook-$MDBOOK_VERSION}"
mdbook="$root/bin/mdbook"

if [ ! -x "$mdbook" ] || [ "$("$mdbook" --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
    echo "book.sh: installing mdbook $MDBOOK_VERSION into $root (once; a few minutes)" >&2
    cargo install mdbook --version "$MDBOOK_VERSION" --locked \
        --no-default-features --features search --root "$root"
fi

# mdbook exits 0 after some errors it only logs (an {{#include}} of a missing file, for one):
# any ERROR line fails the build too.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$mdbook" build docs 2>&1 | tee "$log" >&2 || status=$?
if [ "$status" -ne 0 ] || grep -q 'ERROR' "$log"; then
    echo "book.sh: the book did not build (see the errors above)" >&2
    exit 1
fi
echo "book.sh: built docs/book/index.html" >&2
