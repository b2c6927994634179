#!/usr/bin/env python3
"""Capacities of social services as CSV: one row per region, service type,
form and unit, summed over the services the token may read.

    KPSS_TOKEN=$(kpss token --sub skript --role viewer --kraj CZ032) \\
        python3 examples/capacities_csv.py > kapacity.csv

Standard library only. The token comes from --token or KPSS_TOKEN, the
service from --url or KPSS_URL (default http://127.0.0.1:8080/graphql).
"""

import argparse
import csv
import json
import os
import sys
import urllib.error
import urllib.request

QUERY = """
query Capacities {
  capacitySummary(groupBy: [REGION, SERVICE_TYPE, FORM, UNIT]) {
    region { code name } serviceType form unit total services
  }
  serviceTypes { code name paragraph }
}
"""

COLUMNS = ["region", "region_name", "service_type", "paragraph", "service_type_name",
           "form", "unit", "total", "services"]


def graphql(url, token, query):
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("errors"):
        error = body["errors"][0]
        code = error.get("extensions", {}).get("code", "?")
        sys.exit(f"kpss: {code}: {error['message']}")
    return body["data"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("KPSS_URL", "http://127.0.0.1:8080/graphql"))
    parser.add_argument("--token", default=os.environ.get("KPSS_TOKEN"))
    args = parser.parse_args()
    if not args.token:
        parser.error("a token is needed: --token or KPSS_TOKEN")

    data = graphql(args.url, args.token, QUERY)
    types = {t["code"]: t for t in data["serviceTypes"]}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(COLUMNS)
    for g in data["capacitySummary"]:
        kind = types[g["serviceType"]]
        out.writerow([
            g["region"]["code"], g["region"]["name"], g["serviceType"], kind["paragraph"], kind["name"],
            g["form"] or "", g["unit"], g["total"], g["services"],
        ])


if __name__ == "__main__":
    main()
