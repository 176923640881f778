#!/usr/bin/env bash
# The AWS Encryption SDK for Python and its CLI, for keygate's ESDK interoperability tests.
#
#   scripts/esdk.sh install   install if needed into `.esdk/` (override with KEYGATE_ESDK_DIR);
#                             prints `export KEYGATE_TEST_ESDK_CLI=...` on stdout, so
#                             `eval "$(scripts/esdk.sh install)"` sets the tests' env var
#
# Everything lives in an ignored folder: a Python virtualenv with pinned versions of the
# official `aws-encryption-sdk` package and `aws-encryption-sdk-cli`. Installing when installed
# is a no-op. Only python3 (3.11+, with venv) is needed; uv is installed into the virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

ESDK_VERSION="3.3.0"
ESDK_CLI_VERSION="4.3.0"  # requires aws-encryption-sdk 3.x
EXCLUDE_NEWER="2025-12-01"

DIR="${KEYGATE_ESDK_DIR:-$PWD/.esdk}"
STAMP="$DIR/.installed-$ESDK_VERSION-$ESDK_CLI_VERSION"

say() { printf 'esdk: %s\n' "$*" >&2; }

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
    if [[ -f "$STAMP" && -x "$DIR/bin/aws-encryption-cli" ]]; then
        return 0
    fi
    local py started
    py="$(python_bin)"
    started=$(date +%s)
    say "installing aws-encryption-sdk $ESDK_VERSION and aws-encryption-sdk-cli $ESDK_CLI_VERSION into $DIR (first run only)"
    mkdir -p "$DIR"
    "$py" -m venv "$DIR"
    "$DIR/bin/python" -m pip install --quiet --disable-pip-version-check uv
    "$DIR/bin/uv" pip install --quiet --python "$DIR/bin/python" \
        --exclude-newer "$EXCLUDE_NEWER" \
        "aws-encryption-sdk==$ESDK_VERSION" "aws-encryption-sdk-cli==$ESDK_CLI_VERSION"
    touch "$STAMP"
    say "installed in $(( $(date +%s) - started ))s"
}

case "${1:-}" in
    install)
        install
        echo "export KEYGATE_TEST_ESDK_CLI=$DIR/bin/aws-encryption-cli"
        ;;
    *)
        echo "usage: scripts/esdk.sh install" >&2
        exit 2
        ;;
esac
