#!/usr/bin/env python3
"""Checks of the deploy/ files, run by scripts/test.sh.

  check_deploy.py parse                 every YAML and JSON file under deploy/ parses,
                                        Kubernetes documents and the dashboard are well formed
  check_deploy.py kubernetes            the manifests validate against the Kubernetes API schemas
                                        (strict: unknown fields are errors)
  check_deploy.py selftest              the PromQL metric-name extraction on known cases
  check_deploy.py metrics --url URL [--pending FILE]
                                        every metric the alert rules and the dashboard use
                                        is exported by the Trellis serving URL (its /metrics)

`metrics` prints exactly which names are missing. Names listed in the
--pending file (metrics another branch provides) are reported but tolerated.
Needs PyYAML and kubernetes-validate (deploy/tests/requirements.txt).
"""
import argparse
import json
import pathlib
import re
import sys
import urllib.request

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent.parent
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "trellis.json"

# Produced by Prometheus itself, not by the scraped target.
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
PROMETHEUS_OWN_PREFIXES = ("scrape_",)

# PromQL words that look like identifiers but name no metric.
KEYWORDS = {
    # aggregation operators
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    # binary operators and modifiers
    "and", "or", "unless", "atan2", "by", "without", "on", "ignoring",
    "group_left", "group_right", "offset", "bool", "start", "end",
    # literals
    "inf", "nan", "Inf", "NaN",
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)"
)
_IDENT = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word in KEYWORDS:
            continue  # a function or an operator, not a metric
        names.add(word)
    return names


def selftest():
    cases = {
        'up{job="trellis"} == 0': {"up"},
        'sum by (job) (rate(trellis_http_requests_total{status=~"5.."}[5m])) / '
        "sum by (job) (rate(trellis_http_requests_total[5m])) > 0.05": {"trellis_http_requests_total"},
        "histogram_quantile(0.99, sum by (job, le) (rate(x_bucket{route=\"/a{b}\"}[5m]))) > 1": {"x_bucket"},
        "a < 0.8 * avg_over_time(a[7d]) and on (activity) b >= 20": {"a", "b"},
        "c > 1.5 * (c offset 7d) and c >= 1e3": {"c"},
        'max by (activity) (d{activity=~"$activity"})': {"d"},
        "sum without (instance) (rate(e_total[$__rate_interval]))": {"e_total"},
        "f * on (job) group_left (version) g": {"f", "g"},
        "count(up{job=~\"$job\"}) - sum(ready:ratio)": {"up", "ready:ratio"},
    }
    failed = 0
    for expr, expected in cases.items():
        got = metric_names(expr)
        if got != expected:
            failed += 1
            print(f"FAIL {expr!r}: got {sorted(got)}, expected {sorted(expected)}")
    if failed:
        sys.exit(1)
    print(f"metric-name extraction: {len(cases)} cases pass")


def rule_expressions():
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            yield f"alert {rule.get('alert') or rule.get('record')}", rule["expr"]


def dashboard_expressions():
    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield f"panel {panel.get('title')!r}", target["expr"]
            yield from walk(panel.get("panels", []))

    dashboard = json.loads(DASHBOARD.read_text())
    yield from walk(dashboard["panels"])
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") == "query" and query:
            inner = re.match(r"label_values\((\w+)\s*,", query)
            if inner:
                yield f"variable {var['name']!r}", inner.group(1)


def exported_names(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    names = set()
    for line in body.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def check_metrics(url, pending_file):
    used = {}
    for source, expr in list(rule_expressions()) + list(dashboard_expressions()):
        for name in metric_names(expr):
            used.setdefault(name, []).append(source)
    used = {
        n: s for n, s in used.items()
        if n not in PROMETHEUS_OWN and not n.startswith(PROMETHEUS_OWN_PREFIXES)
    }
    exported = exported_names(url)
    pending = set()
    if pending_file:
        pending = {
            line.strip() for line in pathlib.Path(pending_file).read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
    missing = sorted(set(used) - exported)
    print(f"{len(used)} metric names used by the alerts and the dashboard; {len(exported)} exported")
    unexpected = [n for n in missing if n not in pending]
    tolerated = [n for n in missing if n in pending]
    for name in tolerated:
        print(f"  pending (provided by another branch): {name}")
    for name in sorted(pending & exported):
        print(f"  now exported, remove from {pending_file}: {name}")
    if unexpected:
        print("MISSING from /metrics:")
        for name in unexpected:
            print(f"  {name}  (used by {', '.join(sorted(set(used[name])))})")
        sys.exit(1)
    print("every used metric is exported" + (" (apart from the pending ones)" if tolerated else ""))


def check_parse():
    count = 0
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix in (".yml", ".yaml"):
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
            if not docs:
                sys.exit(f"{path}: empty YAML")
            if "kubernetes" in path.parts:
                for doc in docs:
                    for key in ("apiVersion", "kind"):
                        if key not in doc:
                            sys.exit(f"{path}: a document without {key}")
                    if doc["kind"] != "Kustomization" and "name" not in doc.get("metadata", {}):
                        sys.exit(f"{path}: {doc['kind']} without metadata.name")
            count += 1
        elif path.suffix == ".json":
            json.loads(path.read_text())
            count += 1
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        if not (DEPLOY / "kubernetes" / resource).is_file():
            sys.exit(f"kustomization lists a missing file: {resource}")
    exprs = list(dashboard_expressions())
    if not exprs:
        sys.exit("the dashboard has no queries")
    for source, expr in exprs:
        if expr.count("(") != expr.count(")"):
            sys.exit(f"dashboard {source}: unbalanced parentheses in {expr!r}")
    print(f"{count} YAML/JSON files parse; {len(exprs)} dashboard queries")


KUBERNETES_VERSION = "1.31.0"


def check_kubernetes():
    import kubernetes_validate

    directory = DEPLOY / "kubernetes"
    kinds = {}
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is None or doc["kind"] == "Kustomization":
                continue
            kinds[doc["kind"]] = doc
            if doc["apiVersion"].startswith("monitoring.coreos.com/"):
                continue  # a CRD: checked against the Service below
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in getattr(e, "path", []))
                sys.exit(f"{path.name}: {doc['kind']} is not valid at {where}: {getattr(e, 'message', e)}")
    service, deployment = kinds["Service"], kinds["Deployment"]
    monitor = kinds["ServiceMonitor"]
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        if endpoint["port"] not in port_names:
            sys.exit(f"ServiceMonitor scrapes port {endpoint['port']!r}, the Service has {port_names}")
        if endpoint.get("path") != "/metrics":
            sys.exit("ServiceMonitor must scrape /metrics")
    selector = monitor["spec"]["selector"]["matchLabels"].items()
    if not selector <= service["metadata"]["labels"].items():
        sys.exit("ServiceMonitor selector does not match the Service labels")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"].items()
    if not service["spec"]["selector"].items() <= pod_labels:
        sys.exit("Service selector does not match the Deployment's pods")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    probes = {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    if probes != {"/healthz", "/readyz"}:
        sys.exit(f"probes must be /healthz (liveness) and /readyz (readiness), not {probes}")
    if kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] != deployment["metadata"]["name"]:
        sys.exit("the HorizontalPodAutoscaler does not target the Deployment")
    print(f"{len(kinds)} Kubernetes resources valid against the {KUBERNETES_VERSION} schemas")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("parse")
    sub.add_parser("selftest")
    sub.add_parser("kubernetes")
    metrics = sub.add_parser("metrics")
    metrics.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8080/metrics")
    metrics.add_argument("--pending", help="file of names another branch provides")
    args = parser.parse_args()
    if args.command == "parse":
        check_parse()
    elif args.command == "kubernetes":
        check_kubernetes()
    elif args.command == "selftest":
        selftest()
    else:
        check_metrics(args.url, args.pending)


if __name__ == "__main__":
    main()
