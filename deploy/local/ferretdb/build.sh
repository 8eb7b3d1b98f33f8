#!/usr/bin/env bash
# Build FerretDB from source through the Go module proxy: deploy/local/ferretdb/build.sh OUTPUT_BINARY
#
# FerretDB v1.x (Apache-2.0) speaks the MongoDB wire protocol on top of SQLite, so the services' pymongo
# code runs against it without a MongoDB server or Docker. infra.sh calls this once and caches the binary.
#
# Why not simply `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`:
#   1. `go install pkg@version` looks up the module's version list (@v/list) for its retraction/deprecation
#      check, and the module proxy this project may use refuses that request for FerretDB, so it fails
#      before building anything. `go mod download module@version` only fetches .info/.mod/.zip and works.
#   2. Building ./cmd/ferretdb from any module other than FerretDB's own (a wrapper main, `go build` of the
#      dependency) yields a binary that panics at start-up: build/version embeds version.txt, which release
#      tooling generates and which is empty in the published module zip.
# So: download the module zip into the module cache, copy its tree somewhere writable, write
# build/version/version.txt, and `go build` inside that copy (FerretDB's own go.mod/go.sum pin every
# dependency, so the result is the v1.24.2 release's dependency set). ~50 s cold, once per cache dir.
set -euo pipefail

FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
out="${1:?usage: build.sh OUTPUT_BINARY}"
out="$(realpath -m "$out")"
patches="$(cd "$(dirname "$0")" && pwd)/patches"

if ! command -v go >/dev/null 2>&1; then
	echo "error: 'go' not found; FerretDB $FERRETDB_VERSION is built from source with Go 1.24+: install it from https://go.dev/dl" >&2
	exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-ferretdb-build.XXXXXX")"
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# run CMD...: run in the current directory; on failure show the command and its output.
run() {
	local output
	if ! output="$("$@" 2>&1)"; then
		echo "error: command failed (in $PWD):" >&2
		echo "  $*" >&2
		printf '%s\n' "$output" | tail -n 60 >&2
		exit 1
	fi
	printf '%s' "$output"
}

# -mod=mod: the throwaway wrapper module has no go.sum yet; let the go command record the checksum
# (verified against the checksum database through the proxy, as for any first download).
export GOFLAGS="-mod=mod ${GOFLAGS:-}"
# FerretDB's SQLite driver (modernc.org/sqlite) is pure Go: no C compiler needed, static binary.
export CGO_ENABLED=0

mkdir -p "$work/wrapper"
cd "$work/wrapper"
cat >go.mod <<EOF
module switchboard.local/ferretdb

go 1.22

require github.com/FerretDB/FerretDB $FERRETDB_VERSION
EOF
json="$(run go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION")"
if command -v python3 >/dev/null 2>&1; then
	moddir="$(printf '%s' "$json" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir") or "")')"
else
	moddir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)"
fi
if [[ -z $moddir || ! -d $moddir ]]; then
	echo "error: 'go mod download -json github.com/FerretDB/FerretDB@$FERRETDB_VERSION' gave no module directory:" >&2
	printf '%s\n' "$json" >&2
	exit 1
fi

cp -R "$moddir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
echo "$FERRETDB_VERSION" >build/version/version.txt
echo "switchboard-local" >build/version/package.txt
# Our fixes to FerretDB's own code (each patch file says what and why), applied in name order. git apply
# outside any repository (the ceiling keeps it from finding one above $work, e.g. a TMPDIR inside a checkout,
# which would make it patch paths relative to that repository instead).
for patch in "$patches"/*.patch; do
	[[ -e $patch ]] || continue
	GIT_CEILING_DIRECTORIES="$work" run git apply -p1 --whitespace=nowarn "$patch" >/dev/null
done

mkdir -p "$(dirname "$out")"
run go build -trimpath -o "$out.tmp" ./cmd/ferretdb >/dev/null
mv -f "$out.tmp" "$out"
"$out" --version >/dev/null 2>&1 || {
	echo "error: the freshly built $out does not run:" >&2
	"$out" --version >&2 || true
	exit 1
}
