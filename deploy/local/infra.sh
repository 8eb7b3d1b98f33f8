#!/usr/bin/env bash
# Local infrastructure without Docker: Apache Kafka 3.9.1 (single-node KRaft) and FerretDB v1.24.2 (MongoDB
# wire protocol over SQLite), both on loopback.
#
#   deploy/local/infra.sh up       start both (idempotent), wait until they answer, ensure the Kafka topics
#   deploy/local/infra.sh down     stop what `up` started (only processes from our own pid files)
#   deploy/local/infra.sh status   show each component's state
#   deploy/local/infra.sh ferretdb-binary   print where `up` keeps the FerretDB it builds (private test servers)
#
# Downloads/builds happen once into the cache dir; run state (data, logs, pids) lives in the run dir.
# Environment (see deploy/local/README.md):
#   SB_KAFKA_BOOTSTRAP   default 127.0.0.1:9092 (or 127.0.0.1:$SB_KAFKA_PORT); a loopback host:port is
#                        served by a broker we start, anything else is an external Kafka we only use
#   SB_KAFKA_CONTROLLER_PORT  default Kafka port + 1 (9093)
#   SB_MONGODB_URL       default mongodb://127.0.0.1:27017/ (or :$SB_FERRETDB_PORT); same rule as above
#   SB_CACHE_DIR         default ${XDG_CACHE_HOME:-~/.cache}/switchboard
#   SB_RUN_DIR           default <repo>/.run
#   SB_KAFKA_HEAP_OPTS   default "-Xms256m -Xmx768m"
#   SB_KAFKA_READY_TIMEOUT / SB_FERRETDB_READY_TIMEOUT   seconds, default 60 / 30
#   SB_FERRETDB_LOG_LEVEL  default error (debug|info|warn|error)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=3.9.1
FERRETDB_VERSION=v1.24.2
LOOPBACK=127.0.0.1

usage() {
	sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

# ---------------------------------------------------------------------------------------------------------
# Configuration: which endpoints, and whether we manage them
# ---------------------------------------------------------------------------------------------------------

# Kafka: SB_KAFKA_BOOTSTRAP is the single source of truth shared with the services (the Makefile exports it).
if [[ -n ${SB_KAFKA_PORT:-} ]]; then
	[[ $SB_KAFKA_PORT =~ ^[0-9]+$ ]] || die "SB_KAFKA_PORT must be a port number, got '$SB_KAFKA_PORT'"
fi
KAFKA_BOOTSTRAP="${SB_KAFKA_BOOTSTRAP:-$LOOPBACK:${SB_KAFKA_PORT:-9092}}"
if [[ $KAFKA_BOOTSTRAP =~ ^(127\.0\.0\.1|localhost):([0-9]+)$ ]]; then
	KAFKA_MANAGED=1
	KAFKA_PORT=${BASH_REMATCH[2]}
	if [[ -n ${SB_KAFKA_PORT:-} && $SB_KAFKA_PORT != "$KAFKA_PORT" ]]; then
		die "SB_KAFKA_PORT=$SB_KAFKA_PORT contradicts SB_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP (the Makefile exports" \
			"SB_KAFKA_BOOTSTRAP=127.0.0.1:9092 by default); set SB_KAFKA_BOOTSTRAP=127.0.0.1:$SB_KAFKA_PORT instead"
	fi
	KAFKA_CONTROLLER_PORT=${SB_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
else
	KAFKA_MANAGED=0
	KAFKA_PORT=""
	KAFKA_CONTROLLER_PORT=""
fi

# FerretDB: SB_MONGODB_URL likewise.
if [[ -n ${SB_FERRETDB_PORT:-} ]]; then
	[[ $SB_FERRETDB_PORT =~ ^[0-9]+$ ]] || die "SB_FERRETDB_PORT must be a port number, got '$SB_FERRETDB_PORT'"
fi
MONGODB_URL="${SB_MONGODB_URL:-mongodb://$LOOPBACK:${SB_FERRETDB_PORT:-27017}/}"
if [[ $MONGODB_URL =~ ^mongodb://(127\.0\.0\.1|localhost)(:([0-9]+))?(/.*)?$ ]]; then
	FDB_MANAGED=1
	FDB_PORT=${BASH_REMATCH[3]:-27017}
	if [[ -n ${SB_FERRETDB_PORT:-} && $SB_FERRETDB_PORT != "$FDB_PORT" ]]; then
		die "SB_FERRETDB_PORT=$SB_FERRETDB_PORT contradicts SB_MONGODB_URL=$MONGODB_URL (the Makefile exports" \
			"SB_MONGODB_URL=mongodb://127.0.0.1:27017/ by default); set SB_MONGODB_URL=mongodb://127.0.0.1:$SB_FERRETDB_PORT/ instead"
	fi
else
	FDB_MANAGED=0
	FDB_PORT=""
fi

KAFKA_READY_TIMEOUT=${SB_KAFKA_READY_TIMEOUT:-60}
FDB_READY_TIMEOUT=${SB_FERRETDB_READY_TIMEOUT:-30}
# error, not warn: at warn FerretDB logs a multi-line dump for every unsupported command, e.g. the
# endSessions pymongo sends whenever a client closes (so every test would add ~20 lines).
FDB_LOG_LEVEL=${SB_FERRETDB_LOG_LEVEL:-error}
read -r -a KAFKA_HEAP_OPTS <<<"${SB_KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"

# Cache (downloads/builds, shared by every checkout) and run state (this checkout).
KAFKA_HOME="$SB_CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
# The build is the release plus our patches (ferretdb/patches): its directory names both, so a patch change
# builds a new binary instead of reusing one built without it (switchboard_testing.private_ferretdb asks
# `infra.sh ferretdb-binary`).
FDB_PATCHES_ID="$(export LC_ALL=C; cat "$SB_LOCAL_DIR"/ferretdb/patches/*.patch | sha256sum | cut -c1-12)"
FDB_BIN="$SB_CACHE_DIR/ferretdb-$FERRETDB_VERSION-$FDB_PATCHES_ID/ferretdb"

K_RUN="$SB_RUN_DIR/infra/kafka"
K_DATA="$K_RUN/data"
K_LOG="$K_RUN/kafka.log"
K_PIDFILE="$K_RUN/kafka.pid"
K_CONFIG="$K_RUN/server.properties"
K_CLUSTER_ID_FILE="$K_RUN/cluster.id"
K_TAG="$SB_RUN_DIR:kafka"
K_LOG4J="$SB_LOCAL_DIR/kafka/log4j.properties"

F_RUN="$SB_RUN_DIR/infra/ferretdb"
F_DATA="$F_RUN/data"
F_LOG="$F_RUN/ferretdb.log"
F_PIDFILE="$F_RUN/ferretdb.pid"
F_TAG="$SB_RUN_DIR:ferretdb"

cd "$SB_ROOT"

# ---------------------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------------------

PY=("$UV" run --no-sync --project "$SB_ROOT" python)

require_python_env() {
	command -v "$UV" >/dev/null 2>&1 || die "'uv' not found; run \"make up\" (which installs it), or install it" \
		"(https://docs.astral.sh/uv/) — the readiness checks and topic creation run in the workspace's Python environment"
	if ! "${PY[@]}" -c 'import aiokafka, pymongo' >/dev/null 2>&1; then
		info "workspace environment incomplete; running: uv sync --all-packages --locked"
		local out
		out="$("$UV" sync --all-packages --locked 2>&1)" || {
			printf '%s\n' "$out" >&2
			die "uv sync --all-packages --locked failed"
		}
	fi
}

# FerretDB's go.mod asks for Go 1.24.
FDB_GO_MINOR=24
JAVA=""
GO=""
check_java() {
	if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		JAVA="$JAVA_HOME/bin/java"
	elif install_or_explain java openjdk-17-jre-headless "Kafka $KAFKA_VERSION needs a Java 17+ runtime"; then
		JAVA="$(command -v java)"
	else
		return
	fi
	local line major
	line="$("$JAVA" -version 2>&1 | head -n 1)"
	if [[ $line =~ version\ \"1\.([0-9]+) ]]; then
		major=${BASH_REMATCH[1]}
	elif [[ $line =~ version\ \"([0-9]+) ]]; then
		major=${BASH_REMATCH[1]}
	else
		MISSING+=("could not determine the Java version from '$JAVA -version': $line")
		return
	fi
	if ((major < 17)); then
		MISSING+=("$JAVA is Java $major; Kafka $KAFKA_VERSION here needs Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless, or point JAVA_HOME at a Java 17+ installation)")
	fi
}
check_mvn() {
	kafka_jars_ready && return 0
	install_or_explain mvn maven "the Kafka $KAFKA_VERSION jars are resolved from Maven Central with Maven" || true
}
# Go cannot come from apt: Debian's golang-go is older than FerretDB needs.
check_go() {
	[[ -x $FDB_BIN ]] && return 0
	if ! GO="$(find_go)"; then
		MISSING+=("'go' not found; FerretDB $FERRETDB_VERSION is built from source with Go 1.$FDB_GO_MINOR+: install it from https://go.dev/dl (into /usr/local/go)")
	elif ! go_usable "$GO" "$FDB_GO_MINOR"; then
		MISSING+=("$GO is $("$GO" env GOVERSION 2>/dev/null || echo 'an unknown version'); FerretDB $FERRETDB_VERSION needs Go 1.$FDB_GO_MINOR+: install it from https://go.dev/dl (into /usr/local/go)")
	fi
}

# run_logged LOGFILE CMD...: run CMD with output to LOGFILE; on failure show the command and its output.
run_logged() {
	local logfile=$1
	shift
	if ! "$@" >"$logfile" 2>&1; then
		{
			echo "error: command failed:"
			printf ' '
			printf ' %q' "$@"
			echo
			tail -n 60 "$logfile"
			echo "(full output: $logfile)"
		} >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------------------

kafka_jars_ready() {
	local want
	want="$(sha256sum "$SB_LOCAL_DIR/kafka/pom.xml" | cut -d' ' -f1)"
	[[ -f $KAFKA_HOME/.resolved && "$(cat "$KAFKA_HOME/.resolved")" == "$want" ]] &&
		[[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]]
}

# One-time: resolve the broker's runtime jars from Maven Central (the machine's Maven and ~/.m2).
ensure_kafka_jars() {
	kafka_jars_ready && return 0
	local t0 tmp count
	t0=$(now_s)
	info "kafka: resolving the $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME (one-time) ..."
	mkdir -p "$KAFKA_HOME"
	cp "$SB_LOCAL_DIR/kafka/pom.xml" "$KAFKA_HOME/pom.xml"
	tmp="$KAFKA_HOME/libs.tmp.$$"
	rm -rf "$tmp"
	if ! run_logged "$KAFKA_HOME/resolve.log" mvn -q -B -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies \
		"-DoutputDirectory=$tmp" -DincludeScope=runtime; then
		rm -rf "$tmp"
		exit 1
	fi
	[[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || die "Maven finished but $tmp has no" \
		"kafka_2.13-$KAFKA_VERSION.jar (see $KAFKA_HOME/resolve.log)"
	count=$(find "$tmp" -name '*.jar' | wc -l)
	rm -rf "$KAFKA_LIBS"
	mv "$tmp" "$KAFKA_LIBS"
	sha256sum "$SB_LOCAL_DIR/kafka/pom.xml" | cut -d' ' -f1 >"$KAFKA_HOME/.resolved"
	info "kafka: $count jars resolved in $(elapsed_since "$t0") s"
}

render_kafka_config() {
	mkdir -p "$K_DATA"
	sed -e "s|@HOST@|$LOOPBACK|g" -e "s|@PORT@|$KAFKA_PORT|g" \
		-e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$K_DATA|g" \
		"$SB_LOCAL_DIR/kafka/server.properties" >"$K_CONFIG.tmp"
	mv -f "$K_CONFIG.tmp" "$K_CONFIG"
}

# Format the KRaft storage once per data dir; the cluster id is generated once and kept beside the data
# (a stored id the storage tool refuses is replaced, so a bad one cannot fail every later start).
format_kafka_storage() {
	[[ -f $K_DATA/meta.properties ]] && return 0
	local cluster_id
	cluster_id="$("${PY[@]}" -m switchboard_platform.kafka_admin cluster-id "$K_CLUSTER_ID_FILE")" ||
		die "could not read or create the Kafka cluster id in $(rel "$K_CLUSTER_ID_FILE")"
	run_logged "$K_RUN/format.log" "$JAVA" -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$K_LOG4J" \
		kafka.tools.StorageTool format -t "$cluster_id" -c "$K_CONFIG" || exit 1
}

start_kafka() {
	start_detached "$K_TAG" "$K_PIDFILE" "$K_LOG" "$K_RUN" \
		"$JAVA" "${KAFKA_HEAP_OPTS[@]}" \
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		"-Dkafka.logs.dir=$K_RUN" "-Dlog4j.configuration=file:$K_LOG4J" \
		-cp "$KAFKA_LIBS/*" kafka.Kafka "$K_CONFIG"
}

ensure_topics() {
	mkdir -p "$K_RUN"
	run_logged "$K_RUN/ensure-topics.log" "${PY[@]}" -m switchboard_platform.kafka_admin ensure-topics \
		--bootstrap "$KAFKA_BOOTSTRAP" || die "kafka is up on $KAFKA_BOOTSTRAP but creating the contract's topics failed"
}

# ---------------------------------------------------------------------------------------------------------
# FerretDB
# ---------------------------------------------------------------------------------------------------------

# One-time: build FerretDB from source via the Go module proxy (see ferretdb/build.sh for why).
ensure_ferretdb_binary() {
	[[ -x $FDB_BIN ]] && return 0
	local t0
	t0=$(now_s)
	info "ferretdb: building $FERRETDB_VERSION from source via the Go module proxy into $(dirname "$FDB_BIN") (one-time, 30-80 s) ..."
	mkdir -p "$(dirname "$FDB_BIN")"
	PATH="$(dirname "$GO"):$PATH" FERRETDB_VERSION=$FERRETDB_VERSION "$SB_LOCAL_DIR/ferretdb/build.sh" "$FDB_BIN" ||
		die "building FerretDB failed (command: FERRETDB_VERSION=$FERRETDB_VERSION $SB_LOCAL_DIR/ferretdb/build.sh $FDB_BIN)"
	info "ferretdb: built in $(elapsed_since "$t0") s"
}

start_ferretdb() {
	mkdir -p "$F_DATA"
	start_detached "$F_TAG" "$F_PIDFILE" "$F_LOG" "$F_RUN" \
		"$FDB_BIN" --handler=sqlite "--sqlite-url=file:$F_DATA/" "--listen-addr=$LOOPBACK:$FDB_PORT" \
		"--state-dir=$F_RUN" --telemetry=disable --debug-addr=- "--log-level=$FDB_LOG_LEVEL"
}

# ---------------------------------------------------------------------------------------------------------
# up / down / status
# ---------------------------------------------------------------------------------------------------------

# probe KIND TARGET TIMEOUT PID NAME [LOGFILE]: wait for readiness (PID may be "": no process to watch); on
# failure print why, NAME first (+ the end of LOGFILE when we own the process), and exit 1.
probe() {
	local kind=$1 target=$2 timeout=$3 pid=${4:-} name=$5 logfile=${6:-} err
	local args=("$SB_LOCAL_DIR/probe.py" "$kind" "$target" --timeout "$timeout")
	[[ -n $pid ]] && args+=(--pid "$pid")
	if ! err="$("${PY[@]}" "${args[@]}" 2>&1)"; then
		printf 'error: %s: %s\n' "$name" "$err" >&2
		if [[ -n $logfile ]]; then
			tail_log "$name" "$logfile"
			[[ -n $pid ]] && proc_alive "$pid" &&
				printf '(%s is still running as pid %s; "%s down" stops it)\n' "$name" "$pid" "$(rel "${BASH_SOURCE[0]}")" >&2
		fi
		exit 1
	fi
}

# plan NAME PIDFILE TAG PORT → sets PLAN (ours|foreign|start) and PLAN_PID
plan() {
	local name=$1 pidfile=$2 tag=$3 port=$4
	PLAN_PID=""
	if PLAN_PID="$(owned_pid "$pidfile" "$tag")"; then
		PLAN=ours
		return
	fi
	if [[ -e $pidfile ]]; then
		rm -f "$pidfile"
		info "$name: removed stale pid file $(rel "$pidfile")"
	fi
	if port_open "$LOOPBACK" "$port"; then PLAN=foreign; else PLAN=start; fi
}

cmd_up() {
	lock infra
	require_python_env
	local k_plan=external k_pid="" f_plan=external f_pid="" k_t0="" f_t0=""

	if ((KAFKA_MANAGED)); then
		plan kafka "$K_PIDFILE" "$K_TAG" "$KAFKA_PORT"
		k_plan=$PLAN k_pid=$PLAN_PID
	fi
	if ((FDB_MANAGED)); then
		plan ferretdb "$F_PIDFILE" "$F_TAG" "$FDB_PORT"
		f_plan=$PLAN f_pid=$PLAN_PID
	fi

	# ours, but started with other ports than asked for now: don't wait 60 s for the wrong port
	if [[ $k_plan == ours ]] && ! grep -qxF "listeners=PLAINTEXT://$LOOPBACK:$KAFKA_PORT,CONTROLLER://$LOOPBACK:$KAFKA_CONTROLLER_PORT" "$K_CONFIG"; then
		die "kafka (pid $k_pid) is running with $(grep -m1 '^listeners=' "$K_CONFIG" || echo 'another configuration'), not port" \
			"$KAFKA_PORT/$KAFKA_CONTROLLER_PORT; run \"$(rel "${BASH_SOURCE[0]}") down\" first to change ports"
	fi
	if [[ $f_plan == ours ]] && ! { tr '\0' '\n' <"/proc/$f_pid/cmdline"; } 2>/dev/null | grep -qxF -- "--listen-addr=$LOOPBACK:$FDB_PORT"; then
		die "ferretdb (pid $f_pid) is running on another address than $LOOPBACK:$FDB_PORT; run" \
			"\"$(rel "${BASH_SOURCE[0]}") down\" first to change ports"
	fi

	# prerequisites, then one-time downloads/builds and preparation, before starting anything
	if [[ $k_plan == start ]]; then
		check_java
		check_mvn
		if port_open "$LOOPBACK" "$KAFKA_CONTROLLER_PORT"; then
			MISSING+=("kafka: controller port $LOOPBACK:$KAFKA_CONTROLLER_PORT is taken by $(port_owner "$KAFKA_CONTROLLER_PORT"); free it or set SB_KAFKA_CONTROLLER_PORT")
		fi
	fi
	[[ $f_plan == start ]] && check_go
	die_if_missing
	if [[ $k_plan == start ]]; then
		ensure_kafka_jars
		mkdir -p "$K_RUN"
		render_kafka_config
		format_kafka_storage
	fi
	if [[ $f_plan == start ]]; then
		ensure_ferretdb_binary
	fi

	# start both, then wait for each
	if [[ $k_plan == start ]]; then
		k_t0=$(now_s)
		k_pid="$(start_kafka)"
	fi
	if [[ $f_plan == start ]]; then
		f_t0=$(now_s)
		f_pid="$(start_ferretdb)"
	fi

	case $f_plan in
	start)
		probe mongo "$MONGODB_URL" "$FDB_READY_TIMEOUT" "$f_pid" ferretdb "$F_LOG"
		info "ferretdb $FERRETDB_VERSION up on $LOOPBACK:$FDB_PORT (pid $f_pid, started in $(elapsed_since "$f_t0") s)"
		;;
	ours)
		probe mongo "$MONGODB_URL" "$FDB_READY_TIMEOUT" "$f_pid" ferretdb "$F_LOG"
		info "ferretdb $FERRETDB_VERSION already up on $LOOPBACK:$FDB_PORT (pid $f_pid)"
		;;
	foreign)
		probe mongo "$MONGODB_URL" "$FDB_READY_TIMEOUT" "" "ferretdb (port $FDB_PORT is taken by $(port_owner "$FDB_PORT"), which infra.sh did not start)"
		info "ferretdb: $LOOPBACK:$FDB_PORT already answers MongoDB pings but was not started by infra.sh" \
			"($(port_owner "$FDB_PORT")); reusing it and leaving it alone"
		;;
	external)
		probe mongo "$MONGODB_URL" "$FDB_READY_TIMEOUT" "" "mongodb (external SB_MONGODB_URL)"
		info "mongodb: using external SB_MONGODB_URL (not loopback; not managed by infra.sh)"
		;;
	esac

	local k_done
	case $k_plan in
	start)
		probe kafka "$KAFKA_BOOTSTRAP" "$KAFKA_READY_TIMEOUT" "$k_pid" kafka "$K_LOG"
		k_done="kafka $KAFKA_VERSION up on $LOOPBACK:$KAFKA_PORT (pid $k_pid, started in $(elapsed_since "$k_t0") s)"
		;;
	ours)
		probe kafka "$KAFKA_BOOTSTRAP" "$KAFKA_READY_TIMEOUT" "$k_pid" kafka "$K_LOG"
		k_done="kafka $KAFKA_VERSION already up on $LOOPBACK:$KAFKA_PORT (pid $k_pid)"
		;;
	foreign)
		probe kafka "$KAFKA_BOOTSTRAP" "$KAFKA_READY_TIMEOUT" "" "kafka (port $KAFKA_PORT is taken by $(port_owner "$KAFKA_PORT"), which infra.sh did not start)"
		k_done="kafka: $LOOPBACK:$KAFKA_PORT already answers as Kafka but was not started by infra.sh ($(port_owner "$KAFKA_PORT")); reusing it and leaving it alone"
		;;
	external)
		probe kafka "$KAFKA_BOOTSTRAP" "$KAFKA_READY_TIMEOUT" "" "kafka (external SB_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP)"
		k_done="kafka: using external SB_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP (not managed by infra.sh)"
		;;
	esac
	ensure_topics
	info "$k_done; topics ensured"
}

cmd_down() {
	lock infra
	local to_stop=() name pidfile tag port managed pid
	for name in ferretdb kafka; do
		if [[ $name == kafka ]]; then
			pidfile=$K_PIDFILE tag=$K_TAG port=$KAFKA_PORT managed=$KAFKA_MANAGED
		else
			pidfile=$F_PIDFILE tag=$F_TAG port=$FDB_PORT managed=$FDB_MANAGED
		fi
		if pid="$(owned_pid "$pidfile" "$tag")"; then
			to_stop+=("$name=$pid")
			continue
		fi
		if ((!managed)); then
			info "$name: external (SB_KAFKA_BOOTSTRAP / SB_MONGODB_URL not on loopback); nothing to stop"
		elif [[ -e $pidfile ]]; then
			rm -f "$pidfile"
			info "$name: not running (removed stale pid file $(rel "$pidfile"))"
		elif port_open "$LOOPBACK" "$port"; then
			info "$name: not started by infra.sh; $LOOPBACK:$port is served by $(port_owner "$port") — leaving it alone"
		else
			info "$name: not running"
		fi
	done
	((${#to_stop[@]})) || return 0
	stop_groups "${to_stop[@]}"
	local entry
	for entry in "${to_stop[@]}"; do
		case ${entry%%=*} in
		kafka) rm -f "$K_PIDFILE" ;;
		ferretdb) rm -f "$F_PIDFILE" ;;
		esac
	done
}

# status_line NAME VERSION MANAGED PIDFILE TAG PORT TARGET LOGFILE DATADIR
status_line() {
	local name=$1 version=$2 managed=$3 pidfile=$4 tag=$5 port=$6 target=$7 logfile=$8 data=$9 pid shown
	if ((!managed)); then
		shown="$(printf '%s' "$target" | sed -E 's|//[^/@]*@|//***@|')" # hide credentials
		if "${PY[@]}" "$SB_LOCAL_DIR/probe.py" "$([[ $name == kafka ]] && echo kafka || echo mongo)" "$target" --timeout 3 >/dev/null 2>&1; then
			info "$name: external $shown (not managed by infra.sh): answering"
		else
			info "$name: external $shown (not managed by infra.sh): NOT answering"
		fi
	elif pid="$(owned_pid "$pidfile" "$tag")"; then
		if port_open "$LOOPBACK" "$port"; then
			info "$name $version: running (pid $pid, started by infra.sh) on $LOOPBACK:$port; log $(rel "$logfile"), data $(rel "$data")"
		else
			info "$name $version: process running (pid $pid) but $LOOPBACK:$port is not accepting connections (starting? see $(rel "$logfile"))"
		fi
	elif port_open "$LOOPBACK" "$port"; then
		info "$name: $LOOPBACK:$port is served by $(port_owner "$port"), not started by infra.sh"
	elif [[ -e $pidfile ]]; then
		info "$name: stopped (stale pid file $(rel "$pidfile"))"
	else
		info "$name: stopped"
	fi
}

cmd_status() {
	status_line kafka "$KAFKA_VERSION" "$KAFKA_MANAGED" "$K_PIDFILE" "$K_TAG" "$KAFKA_PORT" "$KAFKA_BOOTSTRAP" "$K_LOG" "$K_DATA"
	status_line ferretdb "$FERRETDB_VERSION" "$FDB_MANAGED" "$F_PIDFILE" "$F_TAG" "$FDB_PORT" "$MONGODB_URL" "$F_LOG" "$F_DATA"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
ferretdb-binary) echo "$FDB_BIN" ;;
*) usage ;;
esac
