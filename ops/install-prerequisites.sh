#!/usr/bin/env bash
# Installs what aicc-notify needs to build, run its demo and run its tests on a
# Debian machine that already has the Swift 6 toolchain (and python3):
#   librdkafka-dev  the Kafka client library (and its mock cluster) we link
#   kcat            a second Kafka client, used by the tests as a cross-check
#   curl            the tests post status reports to the worker with it
#   jsonschema      the reference JSON Schema validator the contract tests compare against
# Safe to run again. Needs root (or sudo).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=DEBIAN_FRONTEND "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends librdkafka-dev kcat pkg-config ca-certificates curl >/dev/null
python3 -m pip install --quiet --disable-pip-version-check jsonschema rfc3339-validator
echo "prerequisites installed: librdkafka $(pkg-config --modversion rdkafka), $(kcat -V 2>&1 | head -1), jsonschema $(python3 -c 'import jsonschema, importlib.metadata as m; print(m.version("jsonschema"))')"
