# shellcheck shell=bash
# Helpers shared by deploy/local/infra.sh and deploy/local/services.sh (sourced, not executed).
#
# Process ownership: every process we start gets SB_LOCAL_OWNER=<tag> in its environment and its pid in a
# pid file. A pid file is only trusted when that pid is alive AND its /proc/<pid>/environ carries our tag,
# so a stale pid file whose pid was recycled by an unrelated process can never make us signal it.

SB_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB_ROOT="$(cd "$SB_LOCAL_DIR/../.." && pwd)"
SB_RUN_DIR="$(realpath -m "${SB_RUN_DIR:-$SB_ROOT/.run}")"
SB_CACHE_DIR="$(realpath -m "${SB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}")"
SB_STOP_TIMEOUT="${SB_STOP_TIMEOUT:-20}"
# uv: the Makefile passes the absolute path of the copy it uses (it may not be on the PATH).
UV="${UV:-uv}"

info() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# now_s: seconds since the epoch with sub-second precision (bash 5 EPOCHREALTIME; LC_NUMERIC-proof).
now_s() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# elapsed_since START: "1.8" (one decimal)
elapsed_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# rel PATH: PATH relative to the repo root when it is inside it (for friendlier output).
rel() { case "$1" in "$SB_ROOT"/*) printf '%s' "${1#"$SB_ROOT"/}" ;; *) printf '%s' "$1" ;; esac; }

# tail_log NAME FILE: show the end of a log so a failure explains itself.
tail_log() {
	local name=$1 file=$2 lines=${3:-40}
	if [[ -s $file ]]; then
		printf -- '----- last %s lines of %s (%s) -----\n' "$lines" "$(rel "$file")" "$name" >&2
		tail -n "$lines" "$file" >&2
		printf -- '----- end of %s -----\n' "$(rel "$file")" >&2
	else
		printf '(%s: log %s is empty or missing)\n' "$name" "$(rel "$file")" >&2
	fi
}

# port_open HOST PORT: true when something accepts TCP connections there.
# shellcheck disable=SC2016 # $0/$1 expand in the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# port_owner PORT: a short description of the listener (process name/pid when visible), or "unknown".
port_owner() {
	local line
	line="$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1 | grep -o 'users:(.*)' || true)"
	printf '%s' "${line:-unknown process}"
}

# pidfile_pid PIDFILE: print the pid a pid file names (fails when it is missing or holds no pid).
pidfile_pid() {
	local pid
	[[ -r $1 ]] || return 1
	pid="$(head -n 1 "$1" 2>/dev/null || true)"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

# tagged PID TAG: true when that process's environment carries SB_LOCAL_OWNER=TAG (started by us).
tagged() { { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "SB_LOCAL_OWNER=$2"; }

# owned_pid PIDFILE TAG: print the pid and succeed when PIDFILE names a live process started by us.
owned_pid() {
	local pid
	pid="$(pidfile_pid "$1")" && proc_alive "$pid" && tagged "$pid" "$2" || return 1
	printf '%s' "$pid"
}

# proc_alive PID / group_alive PGID: true while that process / any process of that group exists and is not a
# zombie (exited processes can linger as zombies until init reaps them; they no longer count).
proc_alive() {
	local st
	st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
	[[ -n $st && $st != Z* ]]
}
group_alive() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }

# owned_group PIDFILE TAG: like owned_pid, for a process group whose leader may already be gone (e.g. `uv run`
# killed while its python child lives on): succeeds when any live member of the group carries our tag.
owned_group() {
	local pid member
	pid="$(pidfile_pid "$1")" || return 1
	for member in $(pgrep -g "$pid" 2>/dev/null || true); do
		if tagged "$member" "$2"; then
			printf '%s' "$pid"
			return 0
		fi
	done
	return 1
}

# start_detached TAG PIDFILE LOGFILE WORKDIR CMD...: run CMD in its own session (so Ctrl-C in the calling
# terminal doesn't reach it and `down` can signal the whole process group), stdout+stderr to LOGFILE.
# The session leader writes its own pid (== pgid) before exec'ing CMD. Prints the pid.
start_detached() {
	local tag=$1 pidfile=$2 logfile=$3 workdir=$4
	shift 4
	mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")" "$workdir"
	rm -f "$pidfile"
	# keep the previous run's log next to the new one
	if [[ -e $logfile ]]; then mv -f "$logfile" "$logfile.1"; fi
	(
		cd "$workdir" || exit 1
		# Close every inherited descriptor above stderr (our lock, pipes of whatever ran us, e.g.
		# `make up | tee`): a long-lived server holding them keeps locks held and pipes from closing.
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-"; fi
		done 2>/dev/null
		# shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner bash
		SB_LOCAL_OWNER="$tag" exec setsid bash -c 'echo "$$" >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
			"$pidfile" "$@" </dev/null >>"$logfile" 2>&1
	) &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidfile ]] && break
		sleep 0.1
	done
	[[ -s $pidfile ]] || die "could not start $* (no pid file $(rel "$pidfile"))"
	head -n 1 "$pidfile"
}

# stop_groups NAME=PID...: SIGTERM each process group, wait up to SB_STOP_TIMEOUT seconds for all of them,
# then SIGKILL what is left. Prints one line per group.
stop_groups() {
	local entry name pid t0 deadline
	local -A waiting=()
	t0=$(now_s)
	for entry in "$@"; do
		name=${entry%%=*} pid=${entry#*=}
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		waiting[$name]=$pid
	done
	deadline=$((SECONDS + SB_STOP_TIMEOUT))
	while ((${#waiting[@]})); do
		for name in "${!waiting[@]}"; do
			pid=${waiting[$name]}
			if ! group_alive "$pid" && ! proc_alive "$pid"; then
				info "$name stopped (pid $pid, $(elapsed_since "$t0") s)"
				unset 'waiting[$name]'
			fi
		done
		((${#waiting[@]} == 0 || SECONDS >= deadline)) && break
		sleep 0.2
	done
	for name in "${!waiting[@]}"; do
		pid=${waiting[$name]}
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		info "$name killed (pid $pid did not exit within ${SB_STOP_TIMEOUT} s of SIGTERM; sent SIGKILL)"
	done
}

# lock NAME: serialize concurrent invocations (e.g. two `make up` at once) on a lock file in the run dir.
lock() {
	mkdir -p "$SB_RUN_DIR"
	exec 9>"$SB_RUN_DIR/.$1.lock"
	flock -w 300 9 || die "another $1 operation holds $(rel "$SB_RUN_DIR")/.$1.lock"
}

# ---------------------------------------------------------------------------------------------------------
# Prerequisites: install what we can, name what we cannot
# ---------------------------------------------------------------------------------------------------------
# A fresh machine of the kind this project runs on (Debian, root, apt) gets a missing tool's package installed;
# anywhere else the caller stops with one line naming what to install. `id` and `apt-get` are looked up on the
# PATH, so the tests can stand in for them.

# can_apt: true when we may install Debian packages (root, apt-get present).
can_apt() { [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; }

# apt_install PACKAGE...: install quietly (one `apt-get update` per run); on failure show apt-get's output.
SB_APT_UPDATED=0
apt_install() {
	local out
	if ((!SB_APT_UPDATED)); then
		out="$(apt-get update -qq 2>&1)" || {
			printf '%s\n' "$out" >&2
			return 1
		}
		SB_APT_UPDATED=1
	fi
	out="$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" 2>&1)" || {
		printf '%s\n' "$out" | tail -n 20 >&2
		return 1
	}
}

# Prerequisites are checked together so that one run names everything that is missing: each check adds one line
# to MISSING, and die_if_missing prints them all and stops.
MISSING=()
die_if_missing() {
	((${#MISSING[@]})) || return 0
	local m
	for m in "${MISSING[@]}"; do printf 'error: %s\n' "$m" >&2; done
	exit 1
}

# install_or_explain COMMAND PACKAGE WHY: when COMMAND is missing, install PACKAGE with apt if we can; otherwise
# (or when that fails) add "'COMMAND' not found; WHY (install it: …)" to MISSING and fail.
install_or_explain() {
	local command=$1 package=$2 why=$3
	command -v "$command" >/dev/null 2>&1 && return 0
	if can_apt; then
		info "installing $package with apt-get ($why) ..."
		if apt_install "$package" && command -v "$command" >/dev/null 2>&1; then
			return 0
		fi
		MISSING+=("'$command' not found and apt-get install $package failed; $why")
		return 1
	fi
	MISSING+=("'$command' not found; $why (install it: apt-get install $package, or your system's package)")
	return 1
}

# find_go: the go command on the PATH, else where the go.dev installer puts it (/usr/local/go/bin, which a
# plain login shell's PATH often lacks). Prints its path; fails when there is none.
find_go() {
	command -v go 2>/dev/null && return 0
	[[ -x /usr/local/go/bin/go ]] && printf '%s\n' /usr/local/go/bin/go
}

# go_usable GO MINOR: true when GO can build a module that needs Go 1.MINOR: it is that new, or it is Go 1.21+
# and may fetch the newer toolchain itself (GOTOOLCHAIN not "local").
go_usable() {
	local go=$1 minor=$2 version toolchain have
	version="$("$go" env GOVERSION 2>/dev/null)" || return 1
	toolchain="$("$go" env GOTOOLCHAIN 2>/dev/null)" || return 1
	[[ $version =~ ^go1\.([0-9]+) ]] || return 1
	have=${BASH_REMATCH[1]}
	((have >= minor)) || { ((have >= 21)) && [[ $toolchain != local* ]]; }
}
