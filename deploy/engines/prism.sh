#!/usr/bin/env bash
# Install Prism, Beam's portable local runner, into .cache/engines/ (idempotent).
#
# Prism is a Go program in Beam's Go module, built with `go install` at the Beam version the
# Python SDK is pinned to. Integrity: a built binary's sha256 differs between machines and Go
# toolchains, so it is not what we pin. What we pin is the module source: `go install mod@version`
# checks the downloaded module zip against the Go checksum database (GOSUMDB, on by default;
# GOFLAGS=-mod=mod and GONOSUMCHECK are refused below) and against PRISM_MODULE_H1, the module's
# go.sum hash recorded here, before anything is compiled.
#
# Exit codes: 0 installed or already present; 3 Go is not installed; 4 the module could not be
# downloaded or built (registry unreachable, checksum mismatch); 5 the built binary does not run.
set -euo pipefail

PRISM_VERSION="${PRISM_VERSION:-v2.77.0}"
PRISM_MODULE="github.com/apache/beam/sdks/v2"
# go.sum hash of the module zip (h1: = base64 sha256 of the module's file tree), as in go.sum.
PRISM_MODULE_H1="${PRISM_MODULE_H1:-h1:RsC61pHEvtySEHAURQyP/+CVOJm/hy5hewuG9JF0+Ow=}"

cd "$(dirname "$0")/../.."
dest="$PWD/.cache/engines"
binary="$dest/prism-$PRISM_VERSION"
stamp="$binary.installed"

if [[ -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$PRISM_MODULE@$PRISM_VERSION $PRISM_MODULE_H1" ]]; then
    echo "prism $PRISM_VERSION already installed: .cache/engines/prism"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "make engines-prism: Go is not installed (need Go >= 1.22 on PATH to build Prism)" >&2
    exit 3
fi

if [[ "${GONOSUMDB:-}${GONOSUMCHECK:-}${GOFLAGS:-}" == *insecure* || "$(go env GOSUMDB)" == "off" ]]; then
    echo "make engines-prism: the Go checksum database is turned off (GOSUMDB=off); refusing to install unverified" >&2
    exit 4
fi

mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Verify the module's recorded hash: download it (the go command checks it against the checksum
# database) and compare its h1: with the one pinned above.
if ! sum="$(go mod download -json "$PRISM_MODULE@$PRISM_VERSION" 2>"$work/err" | sed -n 's/.*"Sum": "\(.*\)".*/\1/p')" || [[ -z "$sum" ]]; then
    echo "make engines-prism: could not download $PRISM_MODULE@$PRISM_VERSION from the Go module proxy: $(tail -n1 "$work/err")" >&2
    exit 4
fi
if [[ "$sum" != "$PRISM_MODULE_H1" ]]; then
    echo "make engines-prism: checksum mismatch for $PRISM_MODULE@$PRISM_VERSION: got $sum, pinned $PRISM_MODULE_H1" >&2
    exit 4
fi

echo "building prism $PRISM_VERSION (go install, a few minutes the first time) ..."
if ! GOBIN="$work" nice -n 5 go install "$PRISM_MODULE/go/cmd/prism@$PRISM_VERSION" 2>"$work/err"; then
    echo "make engines-prism: go install of prism $PRISM_VERSION failed: $(tail -n1 "$work/err")" >&2
    exit 4
fi
if ! "$work/prism" --help >/dev/null 2>&1; then
    echo "make engines-prism: the built prism binary does not run" >&2
    exit 5
fi
mv "$work/prism" "$binary"
ln -sfn "prism-$PRISM_VERSION" "$dest/prism"
echo "$PRISM_MODULE@$PRISM_VERSION $PRISM_MODULE_H1" >"$stamp"
echo "prism $PRISM_VERSION installed: .cache/engines/prism ($(sha256sum "$binary" | cut -c1-16) on this machine)"
