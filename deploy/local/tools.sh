#!/usr/bin/env bash
# The tools `make` needs beyond the system's own, installed on first use (called by the Makefile).
#
#   deploy/local/tools.sh uv PATH VERSION   uv at PATH: when missing, uv==VERSION from PyPI (pip --target) into
#                                           the cache, linked as PATH
#   deploy/local/tools.sh test BIN_DIR      what `make test` needs beyond `make up`: a compose tool (the
#                                           deploy tests validate docker-compose.yml with it), kustomize
#                                           (kubectl contains it; otherwise built with Go into BIN_DIR) and
#                                           promtool (Debian's prometheus package: the alert rules' checks)
#                                           and Chromium (the console's browser tests drive Debian's chromium)
#   deploy/local/tools.sh crds              the CRDs of the operators deploy/k8s's components use (KEDA,
#                                           prometheus-operator, Strimzi), at deploy/k8s/crds/versions.env's
#                                           pinned versions and checksums, into the cache's crds/ directory
#
# As root with apt-get, missing system packages are installed; otherwise each missing tool is named in one line
# and the script fails (see lib.sh).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUSTOMIZE_VERSION=v5.5.0

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

# promtool checks the alert rules (`promtool check rules`) and runs their unit tests (`promtool test rules`).
ensure_promtool() {
	install_or_explain promtool prometheus "make test checks and unit-tests the Prometheus alert rules with it" ||
		true
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
	ensure_promtool
	die_if_missing
}

# ---------------------------------------------------------------------------------------------------------
# CRDs: each operator's own CustomResourceDefinitions, so tests/deploy can validate the custom resources of
# deploy/k8s's components offline. Pinned by version and checksum in deploy/k8s/crds/versions.env; each set
# lands in its own directory under $SB_CACHE_DIR/crds and is fetched again only when its version changes.

CRD_PINS="$SB_ROOT/deploy/k8s/crds/versions.env"
CRD_DIR="$SB_CACHE_DIR/crds"

# sha256_ok FILE SHA256: the file's checksum is the pinned one (otherwise says both and fails).
sha256_ok() {
	local got
	got="$(sha256sum "$1" | cut -d' ' -f1)"
	[[ $got == "$2" ]] && return 0
	printf 'error: %s has sha256 %s, deploy/k8s/crds/versions.env pins %s\n' "$1" "$got" "$2" >&2
	return 1
}

# crd_fail MESSAGE...: remove the caller's temporary directory ($tmp), then stop with MESSAGE.
crd_fail() {
	rm -rf "${tmp:?}"
	die "$@"
}

# go_proxy: the Go module proxy to download from (the first entry of GOPROXY that is a URL).
go_proxy() {
	local entry
	for entry in $(printf '%s' "${GOPROXY:-https://proxy.golang.org}" | tr ',|' '  '); do
		[[ $entry == http* ]] && printf '%s' "${entry%/}" && return 0
	done
	printf 'https://proxy.golang.org'
}

# crds_from_go_module NAME MODULE VERSION SHA256 DIR-IN-MODULE FILE...: FILEs of DIR-IN-MODULE in the module
# zip the Go module proxy serves, into $CRD_DIR/NAME-VERSION.
crds_from_go_module() {
	local name=$1 module=$2 version=$3 sha=$4 subdir=$5
	shift 5
	local dest="$CRD_DIR/$name-$version" tmp file t0
	[[ -f $dest/.complete ]] && return 0
	install_or_explain curl curl "the operators' CRDs are downloaded from the Go module proxy with it" ||
		die_if_missing
	t0=$(now_s)
	info "crds: $name $version from the Go module proxy (module $module) into $dest (one-time) ..."
	tmp="$(mktemp -d "$CRD_DIR/.$name.XXXXXX")"
	curl -fsSL --retry 3 -o "$tmp/module.zip" "$(go_proxy)/$module/@v/$version.zip" ||
		crd_fail "downloading $module@$version from $(go_proxy) failed"
	sha256_ok "$tmp/module.zip" "$sha" || crd_fail "refusing $module@$version: checksum mismatch"
	mkdir -p "$tmp/out"
	# python3 rather than unzip, which a fresh machine may lack (Python is needed anyway).
	python3 - "$tmp/module.zip" "$module@$version/$subdir" "$tmp/out" "$@" <<-'EOF' || crd_fail "$module@$version lacks a CRD"
		import sys, zipfile
		archive, prefix, out, *names = sys.argv[1:]
		with zipfile.ZipFile(archive) as module:
		    for name in names:
		        with open(f"{out}/{name}", "wb") as target:
		            target.write(module.read(f"{prefix}/{name}"))
	EOF
	touch "$tmp/out/.complete"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
	rm -rf "$tmp"
	info "crds: $name $version ready in $(elapsed_since "$t0") s"
}

# java_major JAVA: the feature version of that Java (17, 21, 25), or nothing.
java_major() {
	local line
	line="$("$1" -version 2>&1 | head -n 1)"
	[[ $line =~ version\ \"([0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# find_java MIN: a Java runtime of at least that version: JAVA_HOME's, the PATH's, or any under /usr/lib/jvm.
find_java() {
	local min=$1 candidate major
	for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
		[[ -n $candidate && -x $candidate ]] || continue
		major="$(java_major "$candidate")"
		[[ -n $major ]] && ((major >= min)) && printf '%s' "$candidate" && return 0
	done
	return 1
}

# Strimzi's CRDs, written by Strimzi's own generator from its API classes (both from Maven Central).
crds_strimzi() {
	local version=$STRIMZI_VERSION dest="$CRD_DIR/strimzi-$STRIMZI_VERSION" tmp java t0
	[[ -f $dest/.complete ]] && return 0
	install_or_explain mvn maven "Strimzi's CRD generator is resolved from Maven Central with Maven" ||
		die_if_missing
	if ! java="$(find_java 21)"; then
		can_apt && apt_install openjdk-21-jre-headless >/dev/null 2>&1 || true
		java="$(find_java 21)" || die "Strimzi $version's CRD generator needs Java 21 or newer; none found" \
			"(JAVA_HOME, the PATH, /usr/lib/jvm): install one (apt-get install openjdk-21-jre-headless) or" \
			"point JAVA_HOME at it"
	fi
	t0=$(now_s)
	info "crds: Strimzi $version's generator and API classes from Maven Central into $dest (one-time) ..."
	tmp="$(mktemp -d "$CRD_DIR/.strimzi.XXXXXX")"
	cp "$SB_ROOT/deploy/k8s/crds/strimzi-pom.xml" "$tmp/pom.xml"
	mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies "-DoutputDirectory=$tmp/lib" -DincludeScope=runtime \
		>"$tmp/resolve.log" 2>&1 || {
		tail -n 40 "$tmp/resolve.log" >&2
		crd_fail "resolving Strimzi $version from Maven Central failed"
	}
	sha256_ok "$tmp/lib/api-$version.jar" "$STRIMZI_API_SHA256" &&
		sha256_ok "$tmp/lib/crd-generator-$version.jar" "$STRIMZI_CRD_GENERATOR_SHA256" ||
		crd_fail "refusing Strimzi $version: checksum mismatch"
	mkdir -p "$tmp/out"
	"$java" -cp "$tmp/lib/*" io.strimzi.crdgenerator.CrdGenerator --yaml --crd-api-version v1 \
		--api-versions v1 --storage-version v1 --target-kube 1.25+ \
		"io.strimzi.api.kafka.model.kafka.Kafka=$tmp/out/kafka.strimzi.io_kafkas.yaml" \
		"io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$tmp/out/kafka.strimzi.io_kafkanodepools.yaml" \
		"io.strimzi.api.kafka.model.topic.KafkaTopic=$tmp/out/kafka.strimzi.io_kafkatopics.yaml" \
		>"$tmp/generate.log" 2>&1 || {
		tail -n 40 "$tmp/generate.log" >&2
		crd_fail "Strimzi $version's CRD generator failed (with $java)"
	}
	touch "$tmp/out/.complete"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
	rm -rf "$tmp"
	info "crds: Strimzi $version ready in $(elapsed_since "$t0") s"
}

cmd_crds() {
	# shellcheck source=../k8s/crds/versions.env
	source "$CRD_PINS"
	mkdir -p "$CRD_DIR"
	crds_from_go_module keda github.com/kedacore/keda/v2 "$KEDA_VERSION" "$KEDA_ZIP_SHA256" config/crd/bases \
		keda.sh_scaledobjects.yaml
	crds_from_go_module prometheus-operator github.com/prometheus-operator/prometheus-operator \
		"$PROMETHEUS_OPERATOR_VERSION" "$PROMETHEUS_OPERATOR_ZIP_SHA256" example/prometheus-operator-crd \
		monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml
	crds_strimzi
}

case "${1:-}" in
uv) cmd_uv "${@:2}" ;;
test) cmd_test "${@:2}" ;;
crds) cmd_crds ;;
*) usage ;;
esac
