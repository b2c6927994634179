#!/usr/bin/env python3
"""Capacities of social services as CSV: one row per region, service type,
form and unit, summed over the services the token may read.

    KPSS_TOKEN=$(kpss token --sub skript --role viewer --kraj CZ032) \\
        python3 examples/capacities_csv.py > kapacity.csv

Standard library only. The token comes from --token or KPSS_TOKEN, or the
script fetches its own from the office's identity provider (the client
credentials grant) when given its issuer and a confidential client:

    KPSS_OIDC_ISSUER=https://login.example.cz/realms/kpss \
    KPSS_CLIENT_ID=kpss-script KPSS_CLIENT_SECRET=... \
        python3 examples/capacities_csv.py > kapacity.csv

(KPSS_CLIENT_SCOPE, e.g. `api://kpss-api/.default` for Entra ID, and
KPSS_CLIENT_RESOURCE are passed on when set.) The service comes from --url
or KPSS_URL (default http://127.0.0.1:8080/graphql).
"""

import argparse
import base64
import csv
import json
import os
import sys
import urllib.error
import urllib.parse
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


def fetch_json(request):
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        sys.exit(f"kpss: the identity provider answered {e.code}: {body}")
    except urllib.error.URLError as e:
        sys.exit(f"kpss: the identity provider is not reachable: {e.reason}")


def provider_token(issuer, client_id, secret):
    """An access token of the client credentials grant, from the provider's token endpoint."""
    discovery = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        sys.exit(f"kpss: {issuer} names another issuer in its discovery: {discovery.get('issuer')}")
    form = {"grant_type": "client_credentials"}
    for key, env in (("scope", "KPSS_CLIENT_SCOPE"), ("resource", "KPSS_CLIENT_RESOURCE")):
        if os.environ.get(env):
            form[key] = os.environ[env]
    credentials = ":".join(urllib.parse.quote_plus(s) for s in (client_id, secret))
    request = urllib.request.Request(
        discovery["token_endpoint"],
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        },
    )
    return fetch_json(request)["access_token"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("KPSS_URL", "http://127.0.0.1:8080/graphql"))
    parser.add_argument("--token", default=os.environ.get("KPSS_TOKEN"))
    args = parser.parse_args()
    issuer, client_id = os.environ.get("KPSS_OIDC_ISSUER"), os.environ.get("KPSS_CLIENT_ID")
    if not args.token and issuer and client_id:
        args.token = provider_token(issuer, client_id, os.environ.get("KPSS_CLIENT_SECRET", ""))
    if not args.token:
        parser.error("a token is needed: --token or KPSS_TOKEN, or KPSS_OIDC_ISSUER, "
                     "KPSS_CLIENT_ID and KPSS_CLIENT_SECRET")

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
