#!/usr/bin/env bash
# Installs what aicc-notify needs to build, run its demo and run its tests on a
# Debian machine that already has the Swift 6 toolchain (and python3):
#   librdkafka-dev  the Kafka client library (and its mock cluster) we link
#   libsqlite3-dev  SQLite, which the embedded store (GRDB) links
#   kcat            a second Kafka client, used by the tests as a cross-check
#   curl            the tests post status reports to the worker with it
#   postgresql      the server the PostgreSQL store and fleet tests run against
#                   (a throwaway cluster each run; Debian's default cluster is not created)
#   prometheus      for promtool, which checks and unit-tests ops/prometheus/alerts.yml
#   jsonschema      the reference JSON Schema validator the contract tests compare against
#   pyyaml          ops/check.sh parses every YAML file in ops/ with it
#   noida-db        (PyPI, pinned to 0.2.3) a second, independent Kafka broker on loopback
#                   for the Kafka layer's round trips (Tests/noida-broker.sh runs its binary)
# Safe to run again. Needs root (or sudo).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=DEBIAN_FRONTEND "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The tests start their own PostgreSQL clusters; do not create (and start) Debian's default one.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
apt-get install -y -qq --no-install-recommends \
    librdkafka-dev libsqlite3-dev kcat pkg-config ca-certificates curl postgresql prometheus >/dev/null
python3 -m pip install --quiet --disable-pip-version-check jsonschema rfc3339-validator pyyaml noida-db==0.2.3
echo "prerequisites installed: librdkafka $(pkg-config --modversion rdkafka), SQLite $(pkg-config --modversion sqlite3), $(kcat -V 2>&1 | head -1)," \
    "PostgreSQL $(ls /usr/lib/postgresql | sort -n | tail -1), $(promtool --version 2>&1 | head -1)," \
    "jsonschema $(python3 -c 'import jsonschema, importlib.metadata as m; print(m.version("jsonschema"))')," \
    "noida-db $(python3 -c 'import noida_db, importlib.metadata as m; print(m.version("noida-db"))')"
