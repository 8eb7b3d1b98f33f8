#!/usr/bin/env bash
# The tools `make` needs beyond the system's own, installed on first use (called by the Makefile).
#
#   deploy/local/tools.sh uv PATH VERSION   uv at PATH: when missing, uv==VERSION from PyPI (pip --target) into
#                                           the cache, linked as PATH
#   deploy/local/tools.sh test BIN_DIR      what `make test` needs beyond `make up`: a compose tool (the
#                                           deploy tests validate docker-compose.yml with it), kustomize
#                                           (kubectl contains it; otherwise built with Go into BIN_DIR) and
#                                           Chromium (the console's browser tests drive Debian's chromium)
#
# As root with apt-get, missing system packages are installed; otherwise each missing tool is named in one line
# and the script fails (see lib.sh).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUSTOMIZE_VERSION=v5.5.0

usage() {
	sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

# Not `pip install --user`: Debian's Python refuses it (PEP 668, externally managed), and ~/.local/bin is not on
# a plain shell's PATH anyway. A --target directory of our own is neither.
cmd_uv() {
	local dest=${1:?uv PATH} version=${2:?uv VERSION}
	command -v "$dest" >/dev/null 2>&1 && return 0
	command -v python3 >/dev/null 2>&1 ||
		install_or_explain python3 python3 "Switchboard needs Python 3.11+" || die_if_missing
	python3 -m pip --version >/dev/null 2>&1 ||
		install_or_explain pip3 python3-pip "uv is installed from PyPI with pip" || die_if_missing
	local target="$SB_CACHE_DIR/uv-$version" out t0
	t0=$(now_s)
	info "installing uv $version from PyPI into $target (one-time) ..."
	rm -rf "$target"
	out="$(PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
		--no-warn-script-location --target "$target" "uv==$version" 2>&1)" || {
		printf '%s\n' "$out" >&2
		die "installing uv $version with pip failed (command: python3 -m pip install --target $target uv==$version)"
	}
	[[ -x $target/bin/uv ]] || die "pip installed uv $version but $target/bin/uv is missing"
	mkdir -p "$(dirname "$dest")"
	ln -sfn "$target/bin/uv" "$dest"
	info "uv $version installed in $(elapsed_since "$t0") s"
}

# docker-compose.yml is validated by `docker-compose config` (or `docker compose config`), which parses the file
# without a Docker engine.
ensure_compose() {
	command -v docker-compose >/dev/null 2>&1 && return 0
	command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 && return 0
	install_or_explain docker-compose docker-compose "make test validates docker-compose.yml with it" || true
}

ensure_kustomize() {
	local bin_dir=$1 go
	command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1 && return 0
	[[ -x $bin_dir/kustomize ]] && return 0
	if ! go="$(find_go)"; then
		MISSING+=("neither 'kubectl' nor 'kustomize' found; make test renders deploy/k8s with one of them (install kubectl, or Go from https://go.dev/dl to build kustomize)")
		return
	fi
	info "building kustomize $KUSTOMIZE_VERSION into $bin_dir through the Go module proxy (one-time) ..."
	GOBIN="$bin_dir" "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
		MISSING+=("building kustomize with $go failed; install kubectl or kustomize")
}

# The console's browser tests drive the system's Chromium through Playwright (`executable_path`): Playwright's
# own browser download is never used.
ensure_chromium() {
	command -v chromium >/dev/null 2>&1 && return 0
	install_or_explain chromium chromium "make test's browser tests of the web console drive it" || true
}

cmd_test() {
	local bin_dir=${1:?test BIN_DIR}
	ensure_compose
	ensure_chromium
	ensure_kustomize "$bin_dir"
	die_if_missing
}

case "${1:-}" in
uv) cmd_uv "${@:2}" ;;
test) cmd_test "${@:2}" ;;
*) usage ;;
esac
