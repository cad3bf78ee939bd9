#!/usr/bin/env python3
"""Queries a Prometheus that scrapes beostat-exporter with the beostat
rules loaded (scripts/prometheus-check.sh sets one up) and fails unless:

- every rule is loaded, healthy, and its query (the rule's expression
  without its final `OP NUMBER` comparison) returns data;
- every query of every panel of the Grafana dashboard, and of its
  template variables, returns data ($instance -> every instance, $node ->
  node 0, $__rate_interval -> 30s);
- the scrapes were OpenMetrics and gzip (negotiated by Prometheus itself);
- node 20, stopped, is down and has no value series, only up/last-seen/info.

Prints one line per check and `N passed, N failed`. Loops waiting for data
are bounded by a count (a hang guard), not a time limit on anything.

    scripts/prometheus_queries.py PROMETHEUS_URL DASHBOARD_JSON
"""

import json
import re
import sys
import time
import urllib.parse
import urllib.request

COMPARISON = re.compile(r"^(?P<query>.*\S)\s*(==|!=|>=|<=|>|<)\s*-?[0-9.]+(e[+-]?[0-9]+)?$", re.S)


def get(base, path, **params):
    url = f"{base}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=60) as reply:
        return json.load(reply)


def query(base, expr):
    answer = get(base, "/api/v1/query", query=expr)
    if answer.get("status") != "success":
        raise RuntimeError(f"{expr}: {answer}")
    return answer["data"]["result"]


def wait_for(what, check, tries=300):
    for _ in range(tries):
        try:
            if check():
                return
        except (OSError, RuntimeError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"prometheus_queries: gave up waiting for {what}")


def panel_exprs(dashboard):
    for panel in dashboard["panels"]:
        for inner in [panel] + panel.get("panels", []):
            for target in inner.get("targets", []):
                yield inner["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.match(r"label_values\((.*),\s*\w+\)$", variable["definition"])
            yield f"variable {variable['name']}", match.group(1)


def substitute(expr):
    return (
        expr.replace('=~"$instance"', '=~".+"')
        .replace("$node", "0")
        .replace("$__rate_interval", "30s")
    )


def main():
    base, dashboard_path = sys.argv[1], sys.argv[2]
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    passed, failed = 0, 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(f"{'ok' if ok else 'FAILED'}: {name}{(' -- ' + detail) if detail and not ok else ''}")
        if ok:
            passed += 1
        else:
            failed += 1

    wait_for("Prometheus to be ready", lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=5).status == 200)
    wait_for("a successful scrape", lambda: query(base, 'up{job="beostat"} == 1'))
    # Node 20 stopped reporting; recvstats' expiry is 5 s.
    wait_for("node 20 to be down", lambda: query(base, 'beostat_node_up{node="20"} == 0'))
    # Rates need two scrapes after everything settled; rules a few evaluations.
    wait_for(
        "rules evaluated and 10 scrapes",
        lambda: query(base, 'count_over_time(up{job="beostat"}[1m]) >= 10')
        and all(
            rule.get("lastEvaluation", "0001").startswith("20")
            for group in get(base, "/api/v1/rules")["data"]["groups"]
            for rule in group["rules"]
        ),
    )

    rules = [rule for group in get(base, "/api/v1/rules")["data"]["groups"] for rule in group["rules"]]
    check("the rules are loaded", len(rules) >= 10, f"{len(rules)} rules")
    for rule in rules:
        name = f"rule {rule['name']}"
        check(f"{name} is healthy", rule["health"] == "ok", rule.get("lastError", ""))
        match = COMPARISON.match(rule["query"])
        if not match:
            check(f"{name} is QUERY OP NUMBER", False, rule["query"])
            continue
        result = query(base, match.group("query"))
        check(f"{name} query returns data", bool(result), match.group("query"))

    for title, expr in panel_exprs(dashboard):
        expr = substitute(expr)
        result = query(base, expr)
        check(f"panel {title!r} returns data", bool(result), expr)

    scrapes = query(base, 'beostat_exporter_scrapes_total{format="openmetrics",encoding="gzip"} > 0')
    check("Prometheus scraped OpenMetrics, gzipped", bool(scrapes))
    others = query(base, 'beostat_exporter_scrapes_total{format="text"} > 0')
    check("and never the text format", not others, str(others))

    down = {series["metric"]["__name__"] for series in query(base, '{__name__=~"beostat_.+",node="20"}')}
    check(
        "a down node exports only up, last-seen and info",
        down == {"beostat_node_up", "beostat_node_last_seen_timestamp_seconds", "beostat_node_info"},
        str(sorted(down)),
    )
    up = {series["metric"]["__name__"] for series in query(base, '{__name__=~"beostat_.+",node="0"}')}
    check("an up node exports its values", "beostat_node_load1" in up and len(up) > 20, str(sorted(up)))

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
