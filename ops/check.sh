#!/usr/bin/env bash
# Checks the operator files under ops/ (CI runs it; so can you, from anywhere):
#
#   1. every *.yml / *.yaml parses (PyYAML, all documents of a multi-document file);
#   2. every *.json parses;
#   3. the files agree with the README: every aicc_notify_* metric they use is in
#      README "Metrics" (names of the PostgreSQL store's tables and indexes, from
#      Sources/NotifyStorePostgres/PostgresSchema.swift, are not metrics), every AICC_NOTIFY_* variable and every key of the k8s
#      config file is a README "Configuration" key (…_FILE only for secrets);
#      every alert has a severity label and summary, description and runbook_url
#      annotations, and each runbook_url anchor is a heading of ops/runbook.md;
#      the k8s and compose grace periods exceed dispatch.drainTimeout;
#   4. promtool check rules ops/prometheus/alerts.yml;
#   5. promtool test rules ops/prometheus/alerts.test.yml (the alerts' unit tests);
#   6. kubectl kustomize ops/k8s renders, when kubectl is installed (skipped otherwise).
#
# Needs python3 with PyYAML and promtool (Debian: apt-get install prometheus);
# exits non-zero, naming what failed, if anything is missing or wrong.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fail() { echo "check.sh: FAILED: $*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || fail "python3 not found"
python3 -c 'import yaml' 2>/dev/null || fail "PyYAML not importable by $(command -v python3) (python3 -m pip install pyyaml)"
command -v promtool >/dev/null 2>&1 || fail "promtool not found on PATH (Debian: apt-get install prometheus)"

python3 - <<'PY' || fail "file checks (above)"
import json, pathlib, re, sys
import yaml

root = pathlib.Path(".")
ops = root / "ops"
errors = []

def err(message):
    errors.append(message)
    print(f"FAIL  {message}")

def ops_files(*suffixes):
    return sorted(p for p in ops.rglob("*") if p.is_file() and p.name.endswith(suffixes))

# 1-2. Parse.
documents = {}
for path in ops_files(".yml", ".yaml"):
    try:
        with path.open(encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        err(f"{path}: not valid YAML: {e}")
        continue
    documents[path] = docs
    print(f"ok    yaml  {path} ({len(docs)} document{'s' if len(docs) != 1 else ''})")
for path in ops_files(".json"):
    try:
        with path.open(encoding="utf-8") as f:
            documents[path] = [json.load(f)]
    except ValueError as e:
        err(f"{path}: not valid JSON: {e}")
        continue
    print(f"ok    json  {path}")

# 3. Against the README.
readme = (root / "README.md").read_text(encoding="utf-8")
def section(title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if not m:
        sys.exit(f"README.md has no '## {title}' section")
    return m.group(1)

metrics = set(re.findall(r"^\| `(aicc_notify_[a-z0-9_]+)` \|", section("Metrics"), re.M))
config_rows = re.findall(r"^\| `([a-zA-Z.]+)` \| ((?:[^|\\]|\\.)*) \|", section("Configuration"), re.M)
config_keys = {key for key, _ in config_rows}
secret_keys = {key for key, kind in config_rows if "secret" in kind}
if not metrics or not config_keys or not secret_keys:
    sys.exit("could not read the metrics / configuration tables of README.md")

def env_var(key):
    out, prev = "AICC_NOTIFY_", None
    for c in key:
        if c == ".":
            out += "_"
        else:
            if prev is not None and prev.islower() and c.isupper():
                out += "_"
            out += c.upper()
        prev = c
    return out

variables = {env_var(k): k for k in config_keys}

# The PostgreSQL store's tables and indexes share the aicc_notify_ prefix; they are not metrics.
schema = (root / "Sources" / "NotifyStorePostgres" / "PostgresSchema.swift").read_text(encoding="utf-8")
store_objects = set(re.findall(r"CREATE (?:TABLE|INDEX)(?: IF NOT EXISTS)? (aicc_notify_[a-z0-9_]+)", schema))
if not store_objects:
    sys.exit("could not read the table names of Sources/NotifyStorePostgres/PostgresSchema.swift")
variables.update({env_var(k) + "_FILE": k for k in secret_keys})

before = len(errors)
text_files = [p for p in ops_files(".yml", ".yaml", ".json", ".md", ".sh", "Dockerfile") if p.name != "check.sh"]
for path in text_files:
    text = path.read_text(encoding="utf-8")
    bad_metrics = sorted({m for m in re.findall(r"\baicc_notify_[a-z0-9_]*[a-z0-9]", text)
                          if re.sub(r"_(bucket|sum|count)$", "", m) not in metrics and m not in metrics
                          and m not in store_objects})
    bad_vars = sorted({v for v in re.findall(r"\bAICC_NOTIFY_[A-Z0-9_]+(?![A-Z0-9_*…])", text) if v not in variables})
    for m in bad_metrics:
        err(f"{path}: metric {m} is not in README 'Metrics'")
    for v in bad_vars:
        err(f"{path}: variable {v} is not a README 'Configuration' key (or _FILE of a secret)")
if len(errors) == before:
    print(f"ok    names {len(text_files)} files use only README metrics ({len(metrics)}) and AICC_NOTIFY_* keys ({len(config_keys)})")

def flatten(tree, prefix=""):
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key != "kafka.properties":
            yield from flatten(value, key + ".")
        else:
            yield key, value

drain = 30.0
configmaps = [d for d in documents.get(ops / "k8s" / "configmap.yaml", []) if d.get("kind") == "ConfigMap"]
for cm in configmaps:
    if "config.yaml" in cm.get("data", {}):
        config = yaml.safe_load(cm["data"]["config.yaml"])
        keys = dict(flatten(config))
        before = len(errors)
        for key in keys:
            if key not in config_keys:
                err(f"ops/k8s/configmap.yaml: config.yaml key {key} is not a README 'Configuration' key")
            if key in secret_keys:
                err(f"ops/k8s/configmap.yaml: secret {key} belongs in the Secret, not the ConfigMap")
        drain = float(keys.get("dispatch.drainTimeout", drain))
        if len(errors) == before:
            print(f"ok    keys  ops/k8s/configmap.yaml config.yaml: {len(keys)} README keys, no secrets")
    for name in cm.get("data", {}):
        if name.startswith("AICC_NOTIFY_") and name not in variables:
            err(f"ops/k8s/configmap.yaml: {name} is not a README 'Configuration' key")

runbook = (ops / "runbook.md").read_text(encoding="utf-8")
def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")
anchors = {slug(h) for h in re.findall(r"^#{1,6} (.+)$", runbook, re.M)}
before = len(errors)
links = re.findall(r"\]\(#([^)]+)\)", runbook)
for link in links:
    if link not in anchors:
        err(f"ops/runbook.md: link to #{link}, which is no heading")
if len(errors) == before:
    print(f"ok    links ops/runbook.md: {len(links)} links to its own {len(anchors)} headings resolve")
before = len(errors)
rules = [r for g in documents[ops / "prometheus" / "alerts.yml"][0]["groups"] for r in g["rules"] if "alert" in r]
for rule in rules:
    name = rule["alert"]
    if "severity" not in rule.get("labels", {}):
        err(f"alerts.yml: {name} has no severity label")
    annotations = rule.get("annotations", {})
    for a in ("summary", "description", "runbook_url"):
        if not annotations.get(a):
            err(f"alerts.yml: {name} has no {a} annotation")
    url = annotations.get("runbook_url", "")
    anchor = url.split("#", 1)[1] if "#" in url else ""
    if not url.split("#", 1)[0].endswith("ops/runbook.md") or anchor not in anchors:
        err(f"alerts.yml: {name} runbook_url {url!r} does not point at a heading of ops/runbook.md")
if len(errors) == before:
    print(f"ok    rules ops/prometheus/alerts.yml: {len(rules)} alerts with severity, summary, description and a runbook anchor")

before = len(errors)
dashboard = documents[ops / "grafana" / "aicc-notify.json"][0]
variables_defined = {v["name"] for v in dashboard["templating"]["list"]}
if "datasource" not in variables_defined:
    err("grafana/aicc-notify.json: no datasource variable")
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        if target.get("datasource", {}).get("uid") != "${datasource}":
            err(f"grafana/aicc-notify.json: panel {panel['title']!r} does not use the datasource variable")
if len(errors) == before:
    print(f"ok    dash  ops/grafana/aicc-notify.json: schemaVersion {dashboard['schemaVersion']}, "
          f"{sum(1 for p in dashboard['panels'] if p['type'] != 'row')} panels on ${{datasource}}")

before = len(errors)
deployment = next(d for d in documents[ops / "k8s" / "deployment.yaml"] if d.get("kind") == "Deployment")
grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
if not grace > drain:
    err(f"k8s/deployment.yaml: terminationGracePeriodSeconds {grace} is not above dispatch.drainTimeout {drain}")
compose = documents[ops / "docker-compose.yml"][0]
stop = compose["services"]["aicc-notify"].get("stop_grace_period", "10s")
stop_seconds = float(re.fullmatch(r"(\d+)s", stop).group(1))
if not stop_seconds > drain:
    err(f"docker-compose.yml: stop_grace_period {stop} is not above dispatch.drainTimeout {drain}")
if len(errors) == before:
    print(f"ok    grace k8s {grace}s, compose {stop}, above dispatch.drainTimeout {drain:g}s")

if errors:
    sys.exit(f"{len(errors)} problem(s)")
PY

promtool check rules ops/prometheus/alerts.yml || fail "promtool check rules ops/prometheus/alerts.yml"
promtool test rules ops/prometheus/alerts.test.yml || fail "promtool test rules ops/prometheus/alerts.test.yml"

if command -v kubectl >/dev/null 2>&1; then
    kinds="$(kubectl kustomize ops/k8s | grep -c '^kind:')" || fail "kubectl kustomize ops/k8s"
    echo "ok    kustomize ops/k8s renders $kinds objects"
else
    echo "skip  kustomize ops/k8s (kubectl not installed)"
fi

echo "check.sh: all ops/ checks passed"
