#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests (never for users).
#
#   Tests/postgres-test-cluster.sh start DIR PORT   # initdb if DIR is new, then start; waits until ready
#   Tests/postgres-test-cluster.sh stop DIR         # fast shutdown; waits
#   Tests/postgres-test-cluster.sh destroy DIR      # stop if running, then delete DIR and its logs
#
# Trust authentication on 127.0.0.1 only, superuser `postgres`, socket in DIR.
# Run as root (CI, these machines), the server runs as the `postgres` user,
# since PostgreSQL refuses to run as root. Needs Debian's postgresql package.
set -euo pipefail

bindir=""
for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x "$candidate/pg_ctl" ]] && bindir="$candidate"
done
if [[ -z "$bindir" ]]; then
    echo "postgres-test-cluster: no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)" >&2
    exit 3
fi

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

command="${1:-}"
dir="${2:-}"
case "$command" in
start)
    port="${3:?usage: start DIR PORT}"
    if [[ ! -f "$dir/PG_VERSION" ]]; then
        mkdir -p "$dir"
        [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$dir"
        chmod 700 "$dir"
        as_owner "$bindir/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$dir.initdb.log" 2>&1 \
            || { cat "$dir.initdb.log" >&2; exit 1; }
    fi
    as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start </dev/null >"$dir.pg_ctl.log" 2>&1 \
        || { cat "$dir.pg_ctl.log" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
    # (The server must not inherit the caller's stdout/stderr: a caller reading
    # them to the end would wait for as long as the server runs.)
    ;;
stop)
    as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
    ;;
destroy)
    if [[ -f "$dir/postmaster.pid" ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir" "$dir.initdb.log" "$dir.pg_ctl.log"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR | destroy DIR" >&2
    exit 2
    ;;
esac
