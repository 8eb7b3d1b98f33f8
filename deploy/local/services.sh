#!/usr/bin/env bash
# The four Switchboard services as background processes on loopback (no Docker).
#
#   deploy/local/services.sh up       start them (idempotent) and wait until every /readyz answers 200
#   deploy/local/services.sh down     stop the process groups named by our pid files
#   deploy/local/services.sh status   show each service's state and /readyz
#
# Needs the workspace synced (make sync) and, for /readyz, Kafka + MongoDB (deploy/local/infra.sh up).
# Environment (see deploy/local/README.md):
#   SB_ENVIRONMENT (default development), SB_KAFKA_BOOTSTRAP (127.0.0.1:9092),
#   SB_MONGODB_URL (mongodb://127.0.0.1:27017/)            passed to the services
#   SB_REGISTRY_ALLOW_LOOPBACK_URLS, SB_DISPATCHER_ALLOW_LOOPBACK_URLS,
#   SB_AI_RESPONDER_ALLOW_LOOPBACK_LLM_URLS                 default true when SB_ENVIRONMENT=development
#   SB_INGRESS_PORT / SB_REGISTRY_PORT / SB_AI_RESPONDER_PORT / SB_DISPATCHER_PORT   8080 / 8081 / 8082 / 8083
#   SB_REGISTRY_INGRESS_URL, SB_REGISTRY_AI_RESPONDER_URL   default: where the ingress and ai-responder run here
#   SB_SERVICES_READY_TIMEOUT  seconds for all of them to become ready (default 90)
#   SB_UVICORN_ARGS            extra uvicorn arguments, e.g. "--reload"
#   SB_SERVICE_CMD             replace the whole command (run with bash -c; gets SB_SERVICE_NAME,
#                              SB_SERVICE_PACKAGE, SB_SERVICE_PORT), e.g. to run a service under a debugger
#   SB_RUN_DIR                 default <repo>/.run (logs in logs/, pid files in pids/)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST=127.0.0.1
NAMES=(ingress registry ai-responder dispatcher)
declare -A PACKAGE=(
	[ingress]=switchboard_ingress
	[registry]=switchboard_registry
	[ai-responder]=switchboard_ai_responder
	[dispatcher]=switchboard_dispatcher
)
declare -A PORT=(
	[ingress]=${SB_INGRESS_PORT:-8080}
	[registry]=${SB_REGISTRY_PORT:-8081}
	[ai-responder]=${SB_AI_RESPONDER_PORT:-8082}
	[dispatcher]=${SB_DISPATCHER_PORT:-8083}
)
READY_TIMEOUT=${SB_SERVICES_READY_TIMEOUT:-90}
LOG_DIR="$SB_RUN_DIR/logs"
PID_DIR="$SB_RUN_DIR/pids"

export SB_ENVIRONMENT="${SB_ENVIRONMENT:-development}"
export SB_KAFKA_BOOTSTRAP="${SB_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
export SB_MONGODB_URL="${SB_MONGODB_URL:-mongodb://127.0.0.1:27017/}"
if [[ $SB_ENVIRONMENT == development ]]; then
	# A development installation lets development tenants send webhooks to the developer's own machine
	# (`switchboard listen`) and use a local model server. The services refuse these switches in production.
	export SB_REGISTRY_ALLOW_LOOPBACK_URLS="${SB_REGISTRY_ALLOW_LOOPBACK_URLS:-true}"
	export SB_DISPATCHER_ALLOW_LOOPBACK_URLS="${SB_DISPATCHER_ALLOW_LOOPBACK_URLS:-true}"
	export SB_AI_RESPONDER_ALLOW_LOOPBACK_LLM_URLS="${SB_AI_RESPONDER_ALLOW_LOOPBACK_LLM_URLS:-true}"
fi

usage() {
	sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

pidfile() { printf '%s/%s.pid' "$PID_DIR" "$1"; }
logfile() { printf '%s/%s.log' "$LOG_DIR" "$1"; }
tag() { printf '%s:service:%s' "$SB_RUN_DIR" "$1"; }
base_url() { printf 'http://%s:%s' "$HOST" "${PORT[$1]}"; }
# The console (registry /admin) shows the ingress's URL and calls the ai-responder's API: wherever they run here.
export SB_REGISTRY_INGRESS_URL="${SB_REGISTRY_INGRESS_URL:-$(base_url ingress)}"
export SB_REGISTRY_AI_RESPONDER_URL="${SB_REGISTRY_AI_RESPONDER_URL:-$(base_url ai-responder)}"

# readyz_code NAME: the HTTP status of /readyz ("000" when nothing answers).
readyz_code() {
	curl -s -o /dev/null -m 2 -w '%{http_code}' "$(base_url "$1")/readyz" 2>/dev/null || true
}

start_service() {
	local name=$1 port=${PORT[$1]} pkg=${PACKAGE[$1]}
	local cmd
	if [[ -n ${SB_SERVICE_CMD:-} ]]; then
		cmd=(bash -c "$SB_SERVICE_CMD")
	else
		local extra=()
		read -r -a extra <<<"${SB_UVICORN_ARGS:-}"
		cmd=("$UV" run --no-sync --project "$SB_ROOT" uvicorn --factory "$pkg.main:create_app"
			--host "$HOST" --port "$port" --log-level info "${extra[@]}")
	fi
	SB_SERVICE_NAME=$name SB_SERVICE_PACKAGE=$pkg SB_SERVICE_PORT=$port \
		start_detached "$(tag "$name")" "$(pidfile "$name")" "$(logfile "$name")" "$SB_ROOT" "${cmd[@]}"
}

cmd_up() {
	lock services
	command -v curl >/dev/null 2>&1 || die "'curl' not found (Debian/Ubuntu: apt-get install curl)"
	if [[ -z ${SB_SERVICE_CMD:-} ]]; then
		command -v "$UV" >/dev/null 2>&1 || die "'uv' not found; run \"make up\" (which installs it), or install it (https://docs.astral.sh/uv/)"
		"$UV" run --no-sync --project "$SB_ROOT" python -c 'import uvicorn' >/dev/null 2>&1 ||
			die "the workspace environment is missing or incomplete; run: make sync (uv sync --all-packages --locked)"
	fi

	local name pid conflicts=() to_start=() already=()
	declare -A pids=()
	for name in "${NAMES[@]}"; do
		if pid="$(owned_group "$(pidfile "$name")" "$(tag "$name")")"; then
			pids[$name]=$pid
			already+=("$name")
			continue
		fi
		if [[ -e "$(pidfile "$name")" ]]; then
			rm -f "$(pidfile "$name")"
			info "$name: removed stale pid file $(rel "$(pidfile "$name")")"
		fi
		if port_open "$HOST" "${PORT[$name]}"; then
			conflicts+=("$name: port $HOST:${PORT[$name]} is already in use by $(port_owner "${PORT[$name]}"), which services.sh did not start")
		else
			to_start+=("$name")
		fi
	done
	if ((${#conflicts[@]})); then
		printf 'error: %s\n' "${conflicts[@]}" >&2
		die "free those ports or move the services (SB_INGRESS_PORT, SB_REGISTRY_PORT, SB_AI_RESPONDER_PORT, SB_DISPATCHER_PORT); nothing was started"
	fi

	local t0
	t0=$(now_s)
	for name in "${to_start[@]}"; do
		pids[$name]="$(start_service "$name")"
	done

	# wait for every /readyz, failing fast when a process exits
	local deadline=$((SECONDS + READY_TIMEOUT)) pending=("${NAMES[@]}") still failed=() code
	while ((${#pending[@]})); do
		still=()
		for name in "${pending[@]}"; do
			code="$(readyz_code "$name")"
			if [[ $code == 200 ]]; then
				continue
			elif ! group_alive "${pids[$name]}"; then
				failed+=("$name")
				printf 'error: %s exited before /readyz answered 200 (see %s)\n' "$name" "$(rel "$(logfile "$name")")" >&2
			else
				still+=("$name")
			fi
		done
		pending=("${still[@]}")
		((${#pending[@]})) || break
		if ((SECONDS >= deadline)); then
			for name in "${pending[@]}"; do
				failed+=("$name")
				printf 'error: %s (pid %s) is running but %s/readyz did not answer 200 within %s s (last: HTTP %s)\n' \
					"$name" "${pids[$name]}" "$(base_url "$name")" "$READY_TIMEOUT" "$(readyz_code "$name")" >&2
			done
			break
		fi
		sleep 0.5
	done

	if ((${#failed[@]})); then
		for name in "${failed[@]}"; do tail_log "$name" "$(logfile "$name")"; done
		printf 'hint: the services need Kafka at %s and MongoDB at SB_MONGODB_URL; "make infra-status" shows the infrastructure\n' \
			"$SB_KAFKA_BOOTSTRAP" >&2
		printf 'the other services are left running so you can look around; "%s down" (or make down) stops them\n' \
			"$(rel "$SB_LOCAL_DIR/services.sh")" >&2
		exit 1
	fi

	for name in "${already[@]}"; do info "$name: already running (pid ${pids[$name]})"; done
	info ""
	printf '%-13s %-8s %-24s %-30s %s\n' SERVICE PID URL DOCS LOG
	for name in "${NAMES[@]}"; do
		printf '%-13s %-8s %-24s %-30s %s\n' "$name" "${pids[$name]}" "$(base_url "$name")" \
			"$(base_url "$name")/docs" "$(rel "$(logfile "$name")")"
	done
	if ((${#to_start[@]})); then
		info ""
		info "all four ready in $(elapsed_since "$t0") s (SB_ENVIRONMENT=$SB_ENVIRONMENT, SB_KAFKA_BOOTSTRAP=$SB_KAFKA_BOOTSTRAP)"
	fi
}

cmd_down() {
	lock services
	local name pid to_stop=()
	for name in "${NAMES[@]}"; do
		if pid="$(owned_group "$(pidfile "$name")" "$(tag "$name")")"; then
			to_stop+=("$name=$pid")
		elif [[ -e "$(pidfile "$name")" ]]; then
			rm -f "$(pidfile "$name")"
			info "$name: not running (removed stale pid file)"
		elif port_open "$HOST" "${PORT[$name]}"; then
			info "$name: not started by services.sh; $HOST:${PORT[$name]} is served by $(port_owner "${PORT[$name]}") — leaving it alone"
		else
			info "$name: not running"
		fi
	done
	((${#to_stop[@]})) || return 0
	stop_groups "${to_stop[@]}"
	local entry
	for entry in "${to_stop[@]}"; do rm -f "$(pidfile "${entry%%=*}")"; done
}

cmd_status() {
	local name pid state code
	printf '%-13s %-34s %-7s %-24s %s\n' SERVICE STATE READYZ URL LOG
	for name in "${NAMES[@]}"; do
		code=-
		if pid="$(owned_group "$(pidfile "$name")" "$(tag "$name")")"; then
			state="running (pid $pid)"
			code="$(readyz_code "$name")"
		elif port_open "$HOST" "${PORT[$name]}"; then
			state="port in use, not started by us"
			code="$(readyz_code "$name")"
		elif [[ -e "$(pidfile "$name")" ]]; then
			state="stopped (stale pid file)"
		else
			state="stopped"
		fi
		[[ $code == 000 ]] && code="none"
		printf '%-13s %-34s %-7s %-24s %s\n' "$name" "$state" "$code" "$(base_url "$name")" "$(rel "$(logfile "$name")")"
	done
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
