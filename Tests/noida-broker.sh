#!/usr/bin/env bash
# A throwaway Kafka broker on loopback for the tests (never for users): noida-db
# from PyPI (pinned to 0.2.3), a second, independent implementation of the Kafka
# protocol beside librdkafka's mock cluster.
#
#   Tests/noida-broker.sh start DIR PORT   # start in the background on 127.0.0.1:PORT; waits until it serves
#   Tests/noida-broker.sh stop DIR         # SIGTERM; waits until it has exited (data in DIR is kept)
#   Tests/noida-broker.sh destroy DIR      # kill it if running, then delete DIR
#
# Only the Kafka service runs, bound to 127.0.0.1. Its pid is in DIR/broker.pid,
# its output in DIR/broker.log, its data in DIR/kafka.json (kept across stop and
# start). Prints nothing on success. Needs `python3 -m pip install noida-db==0.2.3`
# (ops/install-prerequisites.sh). Facts that matter to tests: topics it creates on
# first use have one partition (create them with the admin API), and its group
# coordinator never expires a SIGKILLed member: use it for single-member and
# graceful scenarios only.
set -euo pipefail

version=0.2.3

# The binary inside the Python package. The `noida-db` console script would run
# it as a child: the pid we stop must be the broker's own.
find_binary() {
    local package installed
    if ! package=$(python3 -c 'import noida_db, os; print(os.path.dirname(noida_db.__file__))' 2>/dev/null); then
        echo "noida-broker: Python package noida-db not found for $(command -v python3 || echo python3)" \
            "(python3 -m pip install noida-db==$version, or ops/install-prerequisites.sh)" >&2
        exit 3
    fi
    installed=$(python3 -c 'import importlib.metadata as m; print(m.version("noida-db"))' 2>/dev/null || echo unknown)
    if [[ "$installed" != "$version" ]]; then
        echo "noida-broker: noida-db $installed is installed, the tests are pinned to $version" \
            "(python3 -m pip install noida-db==$version)" >&2
        exit 3
    fi
    if [[ ! -f "$package/noida-db" ]]; then
        echo "noida-broker: $package/noida-db is missing (reinstall: python3 -m pip install --force-reinstall noida-db==$version)" >&2
        exit 3
    fi
    [[ -x "$package/noida-db" ]] || chmod 755 "$package/noida-db" 2>/dev/null || true
    binary="$package/noida-db"
}

# The pid in DIR/broker.pid if that process is still this directory's broker.
running_pid() {
    local pid
    [[ -f "$dir/broker.pid" ]] || return 1
    pid=$(cat "$dir/broker.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--data-dir $dir " || return 1
    echo "$pid"
}

# Whether process $1 is alive (a zombie waiting to be reaped is not).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    [[ "$state" != Z ]]
}

# Waits up to $2 seconds for process $1 to exit.
wait_exit() {
    local pid=$1 tries=$(($2 * 20))
    while alive "$pid" && ((tries-- > 0)); do sleep 0.05; done
    ! alive "$pid"
}

command="${1:-}"
dir="${2:-}"
if [[ -z "$dir" && -n "$command" ]]; then
    echo "usage: $0 start DIR PORT | stop DIR | destroy DIR" >&2
    exit 2
fi
case "$command" in
start)
    port="${3:?usage: start DIR PORT}"
    find_binary
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if pid=$(running_pid); then
        echo "noida-broker: a broker (pid $pid) already runs in $dir" >&2
        exit 1
    fi
    # The broker must not inherit the caller's stdout/stderr: a caller reading
    # them to the end would wait for as long as the broker runs.
    "$binary" start --data-dir "$dir" --host 127.0.0.1 --only kafka --kafka-port "$port" \
        </dev/null >"$dir/broker.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/broker.pid"
    # Ready when it has printed its Kafka listener and the port answers (it
    # takes ~15 ms); a port already in use makes it exit at once.
    for _ in $(seq 1 600); do
        if ! alive "$pid"; then
            echo "noida-broker: the broker exited before serving on 127.0.0.1:$port:" >&2
            grep -v 'GLIBC_2.39' "$dir/broker.log" >&2 || true
            rm -f "$dir/broker.pid"
            exit 1
        fi
        if grep -qE "^ *kafka +127\.0\.0\.1:$port\$" "$dir/broker.log" 2>/dev/null \
            && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            exit 0
        fi
        sleep 0.05
    done
    echo "noida-broker: the broker did not serve on 127.0.0.1:$port within 30 s:" >&2
    cat "$dir/broker.log" >&2 || true
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/broker.pid"
    exit 1
    ;;
stop)
    dir=$(cd "$dir" 2>/dev/null && pwd) || { echo "noida-broker: no directory $2" >&2; exit 1; }
    if pid=$(running_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        # It saves its data and exits in 1-2 s.
        if ! wait_exit "$pid" 30; then
            echo "noida-broker: pid $pid ignored SIGTERM for 30 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            wait_exit "$pid" 10 || true
        fi
    fi
    rm -f "$dir/broker.pid"
    ;;
destroy)
    if [[ -d "$dir" ]]; then
        dir=$(cd "$dir" && pwd)
        if pid=$(running_pid); then
            kill -KILL "$pid" 2>/dev/null || true
            wait_exit "$pid" 10 || true
        fi
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR | destroy DIR" >&2
    exit 2
    ;;
esac
