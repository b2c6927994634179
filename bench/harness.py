#!/usr/bin/env python3
"""The load harness behind bench/run.sh (see bench/README.md): the same
operations against kpss on SQLite and on PostgreSQL under row-level security,
PostGraphile 5 on the same PostgreSQL database, and a static endpoint (the
ceiling) answering kpss's own bytes; wrk drives them all."""
import argparse, datetime, glob, json, os, re, secrets, shutil, signal, socket
import subprocess, sys, tempfile, time, urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TICK = os.sysconf("SC_CLK_TCK")

p = argparse.ArgumentParser()
p.add_argument("--regions", type=int, default=4)
p.add_argument("--secs", type=float, default=8)
p.add_argument("--quick", action="store_true", help="1 and 32 connections only")
p.add_argument("--smoke", action="store_true")
p.add_argument("--no-peer", action="store_true", help="without PostGraphile")
p.add_argument("--no-ceiling", action="store_true")
p.add_argument("--instances", type=int, default=1, help="kpss processes on one PostgreSQL database")
p.add_argument("--ops", help="only these operations (comma-separated); the run is printed, not saved")
p.add_argument("--databases", help="only these databases (sqlite, postgresql); the run is printed, not saved")
args = p.parse_args()
if args.smoke:
    args.secs, args.no_peer, args.no_ceiling = 1, True, True
conns = [1] if args.smoke else [1, 32] if args.quick else [1, 8, 32, 128]
main_conns = 32 if 32 in conns else conns[-1]
# Writes: each connection owns one measure (the four seed regions have 92),
# 16 of them at most.
write_conns = [1] if args.smoke else [1, 16]
configs = [("kpss", {})] if args.smoke else [("kpss", {}), ("kpss, no cache", {"KPSS_RESPONSE_CACHE_MB": "0"})]
# With --instances N the PostgreSQL rows are N kpss processes on one database.
PG = "PostgreSQL" if args.instances == 1 else f"PostgreSQL, {args.instances} instances"
binary = os.environ.get("KPSS_BIN") or os.path.join(ROOT, "target/release/kpss")

work = tempfile.mkdtemp(prefix="kpss-bench-")
os.chmod(work, 0o755)
procs = []


def cleanup():
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # postgres: fast shutdown; kpss: graceful
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    shutil.rmtree(work, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(url, proc, log, limit=600):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            sys.exit(f"{url}: the process exited:\n" + open(log).read()[-3000:])
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{url} not ready after {limit} s:\n" + open(log).read()[-3000:])


def spawn(cmd, env, log, cwd=ROOT):
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    procs.append(proc)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    procs.remove(proc)


def post(url, body, headers=None):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})
    raw = urllib.request.urlopen(req, timeout=60).read()
    answer = json.loads(raw)
    if "errors" in answer:
        sys.exit(f"{url}: {json.dumps(body)[:300]} answered errors: {raw[:1000]}")
    return raw, answer["data"]


# --- process accounting (/proc) -------------------------------------------

def stat(pid):
    """utime, stime, cutime, cstime of pid in seconds (cutime: waited-for children)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return [int(x) / TICK for x in fields[11:15]]


def cpu(pid):
    u, s, _, _ = stat(pid)
    return u + s


def cluster_cpu(postmaster):
    """CPU of a PostgreSQL cluster: the postmaster, its exited backends, its live ones.
    A backend that ends during the scan would be in neither sum: then scan again."""
    while True:
        reaped = stat(postmaster)
        total = sum(reaped)
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    text = open(f"/proc/{d}/stat").read()
                    if int(text.rsplit(")", 1)[1].split()[1]) == postmaster:
                        total += cpu(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        if stat(postmaster)[2:] == reaped[2:]:
            return total


def peak_rss_mb(pid):
    m = re.search(r"VmHWM:\s+(\d+) kB", open(f"/proc/{pid}/status").read())
    return int(m[1]) / 1024


# --- wrk ---------------------------------------------------------------------

rows, failures = [], []
fsync = {}  # "rate": the disk's fdatasync calls a second under the PostgreSQL data folder (pg_test_fsync)


def run_wrk(targets, c, env, pg, label):
    """One wrk run, records a row (label = database, configuration, operation).
    targets: (url, pid) of each instance; the c connections are split between
    them, one wrk each at once (the measures of IDS too): requests/s, errors
    and CPU summed, each percentile the worst instance's, peak RSS summed."""
    split = [c // len(targets) + (i < c % len(targets)) for i in range(len(targets))]
    ids = env.get("IDS", "").split(",")
    runs, start = [], 0
    pg_before = cluster_cpu(pg) if pg else 0
    for (url, pid), ci in zip(targets, split):
        if not ci:
            continue
        threads = ci if env["MODE"] != "read" else max(1, min(ci, 2 // len(targets)))
        cmd = ["wrk", f"-t{threads}", f"-c{ci}", f"-d{args.secs:g}s", "--timeout", "30s", "-s", os.path.join(BENCH, "ops.lua"), url]
        e = {**os.environ, **env, **({"IDS": ",".join(ids[start:start + ci])} if "IDS" in env else {})}
        runs.append((cmd, pid, cpu(pid), subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        start += ci
    rs, service_cpu, bad = [], 0, None
    for cmd, pid, before, proc in runs:
        stdout, stderr = proc.communicate()
        m = re.search(r"^RESULT (.*)$", stdout, re.M)
        if not m:
            sys.exit(f"wrk failed: {' '.join(cmd)}\n{stdout}\n{stderr}")
        rs.append({k: float(v) for k, v in (kv.split("=") for kv in m[1].split())})
        service_cpu += cpu(pid) - before
        bad = bad or re.search(r"^FIRST_BAD (.*)$", stdout, re.M)
        last = stdout
    pg_after = cluster_cpu(pg) if pg else 0
    total = lambda k: sum(r[k] for r in rs)
    worst = lambda k: max(r[k] for r in rs)
    errors = int(total("errors") + total("bad"))
    n = max(total("requests"), 1)
    row = [*label, c, total("rps"), worst("p50"), worst("p90"), worst("p99"), errors,
           sum(peak_rss_mb(pid) for _, pid, _, _ in runs), service_cpu / n * 1000,
           (pg_after - pg_before) / n * 1000 if pg else None]
    rows.append(row)
    recovered = f" ({int(total('conflicts'))} CONFLICT answers, the writer took the current version)" if total("conflicts") else ""
    print("  " + " | ".join(fmt(x) for x in row) + recovered, file=sys.stderr, flush=True)
    if errors:
        failures.append(f"{' / '.join(map(str, label))} at {c}: {errors} errors ({bad[1] if bad else last[-500:]})")


def fmt(x):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.0f}" if x >= 100 else f"{x:.2f}" if x < 10 else f"{x:.1f}"
    return str(x)


# --- the operations -------------------------------------------------------------

TREE = """query($id: ID!) { plan(id: $id) { title region { code kraj { code } } parent { title } projects { title due }
 priorities { code title group measures { code title rationale description targetGroups term responsible output
 expectedCost { amountCzk per text } fundingSources risks plannedActivities plannedCapacities { form value unit }
 evaluations { year status comment } latestEvaluation { status }
 subMeasures { code title term responsible evaluations { year status } plannedCapacities { value unit } }
 activities { code title description responsible schedule financing outputs subActivities { code title schedule } } } } } }"""
MEASURES = """query($r: [String!]) { measures(filter: { regions: $r }, first: 50) { nodes { id code title rationale
 description targetGroups term responsible evaluations { year status comment } } } }"""
SEARCH_TEXT = "domov pro seniory"
SEARCH = "query($t: String!) { search(text: $t, first: 10) { kind id title snippet } }"
CAPACITY = "{ capacitySummary(groupBy: [KRAJ, SERVICE_TYPE, UNIT]) { kraj { code name } serviceType unit total services } }"
UPDATE = ('{"query":"mutation($id: ID!, $v: Int!, $o: String!) { updateMeasure(id: $id, expectedVersion: $v, '
          'patch: { output: $o }) { id version } }","variables":{"id":"@ID@","v":@VERSION@,"o":"bench @N@"}}')
READ_OPS = ["regions", "plan", "measures", "search", "search-region", "capacity"]
# The reads of the mix: the same questions as before search-region was measured.
MIX_READS = ["regions", "plan", "measures", "search", "capacity"]
# The region whose viewer asks search-region (the others ask as viewers of every region).
ONE_REGION = "klatovy"
# kpss's default pool on this machine (KPSS_DB_POOL_SIZE: 4 per CPU, from 4 to 32),
# set for kpss and PostGraphile alike.
POOL_SIZE = min(32, max(4, 4 * len(os.sched_getaffinity(0))))
OPS = READ_OPS + ["update", "mix"]
if args.ops:
    OPS = [op for op in OPS if op in args.ops.split(",")]
partial = bool(args.ops or args.databases)


def kpss_ops(url, viewer, editor, n_writers):
    """The body of each read operation (the largest plan, the region whose 50
    measures answer closest to 19 KB) and the measures the writers own."""
    h = {"Authorization": "Bearer " + viewer}
    # the seed regions' plans: past them are only copies (and more than a page)
    regions = ["klatovy", "kromeriz", "karlovy-vary", "chomutov"]
    plans = [p["id"] for p in post(url, {"query": "query($r: [String!]) { plans(filter: { regions: $r }, first: 100) { nodes { id } } }",
                                         "variables": {"r": regions}}, h)[1]["plans"]["nodes"]]
    tree = max(({"query": TREE, "variables": {"id": i}} for i in plans), key=lambda b: len(post(url, b, h)[0]))
    measures = min(({"query": MEASURES, "variables": {"r": [r]}} for r in regions),
                   key=lambda b: abs(len(post(url, b, h)[0]) - 19000))
    bodies = {
        "regions": {"query": "{ regions { code name } }"},
        "plan": tree,
        "measures": measures,
        "search": {"query": SEARCH, "variables": {"t": SEARCH_TEXT}},
        "search-region": {"query": SEARCH, "variables": {"t": SEARCH_TEXT}},
        "capacity": {"query": CAPACITY},
    }
    ids, after = [], None
    while len(ids) < n_writers:
        page = post(url, {"query": "query($a: String) { measures(first: 100, after: $a) { nodes { id } pageInfo { endCursor hasNextPage } } }",
                          "variables": {"a": after}}, h)[1]["measures"]
        ids += [m["id"] for m in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if len(ids) < n_writers:
        sys.exit(f"{n_writers} writers need as many measures; there are {len(ids)}")
    return bodies, ids[:n_writers]


def kpss_versions(url, token, ids):
    q = "query($id: ID!) { measure(id: $id) { version } }"
    return [post(url, {"query": q, "variables": {"id": i}}, {"Authorization": "Bearer " + token})[1]["measure"]["version"] for i in ids]


def reader(write, op):
    """The token an operation reads with: a viewer of one region for search-region, of every region otherwise."""
    return write["region viewer"] if op == "search-region" else write["viewer"]


def run_ops(targets, bodies, write, versions_of, ids, pg, label, ops=OPS):
    """Every operation at every connection count against the running instances ((url, pid) each)."""
    reads = {op: json.dumps(b) for op, b in bodies.items()}
    for op in ops:
        if op not in reads and op not in ("update", "mix"):
            continue
        for c in (conns if op in reads else write_conns):
            env = {"TOKEN": reader(write, op), "WRITE_TOKEN": write["editor"], "WRITE": write["body"], "MODE": "read"}
            if op in reads:
                env["READS"] = reads[op]
            else:
                vs = versions_of(ids[:c])
                env.update(MODE="write" if op == "update" else "mix", IDS=",".join(f"{i}:{v}" for i, v in zip(ids, vs)),
                           READS="\n".join(reads[o] for o in MIX_READS if o in reads), WRITE_PCT="10")
            run_wrk(targets, c, env, pg, (*label, op))


# --- PostGraphile ------------------------------------------------------------------
# The same questions in the schema amber generates (tables, foreign keys;
# amber orders only by indexed columns, so by primary key: the seed order).

PEER_TREE = """query($id: BigInt!) { planByRowId(rowId: $id) { title regionByRegionCode { code krajByKrajCode { code } }
 planByParentId { title } planProjectsByPlanId(orderBy: PRIMARY_KEY_ASC) { nodes { title due } }
 prioritiesByPlanId(orderBy: PRIMARY_KEY_ASC) { nodes { code title groupName
 measuresByPriorityId(condition: { parentId: null }, orderBy: PRIMARY_KEY_ASC) { nodes {
 code title rationale description targetGroups term responsible output costCzk costPer costText fundingSources risks
 plannedActivities capacitiesByMeasureId(orderBy: PRIMARY_KEY_ASC) { nodes { form value unit } }
 evaluationsByMeasureId(orderBy: PRIMARY_KEY_ASC) { nodes { year status comment } }
 latest: evaluationsByMeasureId(orderBy: PRIMARY_KEY_DESC, first: 1) { nodes { status } }
 measuresByParentId(orderBy: PRIMARY_KEY_ASC) { nodes { code title term responsible
  evaluationsByMeasureId(orderBy: PRIMARY_KEY_ASC) { nodes { year status } } capacitiesByMeasureId(orderBy: PRIMARY_KEY_ASC) { nodes { value unit } } } }
 activitiesByMeasureId(condition: { parentId: null }, orderBy: PRIMARY_KEY_ASC) { nodes { code title description responsible
  schedule financing outputs activitiesByParentId(orderBy: PRIMARY_KEY_ASC) { nodes { code title schedule } } } } } } } } } }"""
PEER_MEASURES = """query($r: String!) { allMeasures(condition: { regionCode: $r }, first: 50, orderBy: PRIMARY_KEY_ASC) { nodes {
 rowId code title rationale description targetGroups term responsible
 evaluationsByMeasureId(orderBy: PRIMARY_KEY_ASC) { nodes { year status comment } } } } }"""
PEER_CAPACITY = """{ allCapacities(condition: { measureId: null }) { nodes { value unit
 serviceByServiceId { serviceType regionByRegionCode { krajCode } } } } }"""
PEER_UPDATE = ('{"query":"mutation($id: BigInt!, $o: String!) { updateMeasureByRowId(input: { rowId: $id, '
               'measurePatch: { output: $o } }) { measure { rowId version } } }","variables":{"id":"@ID@","o":"bench @N@"}}')


def run_peer(pg, pg_port, kpss_bodies, write, n_writers):
    peer = os.path.join(BENCH, "peer")
    port = free_port()
    log = os.path.join(work, "peer.log")
    env = {**os.environ, "NODE_ENV": "production", "PEER_PORT": str(port), "PEER_POOL_SIZE": str(POOL_SIZE),
           "PEER_DATABASE_URL": f"postgres://kpss_service:s@127.0.0.1:{pg_port}/kpss"}
    srv = spawn([os.path.join(peer, "node_modules/.bin/node"), os.path.join(peer, "node_modules/postgraphile/dist/cli-run.js"),
                 "-C", "graphile.config.mjs"], env, log, cwd=peer)
    url = f"http://127.0.0.1:{port}/graphql"
    start = time.monotonic()
    while True:  # PostGraphile has no readiness route: ready when it answers
        try:
            post(url, {"query": "{ __typename }"})
            break
        except OSError:
            if srv.poll() is not None or time.monotonic() - start > 120:
                sys.exit("PostGraphile did not start:\n" + open(log).read()[-3000:])
            time.sleep(0.2)
    plans = [p["rowId"] for p in post(url, {"query": "{ allPlans { nodes { rowId } } }"})[1]["allPlans"]["nodes"]]
    tree = max(({"query": PEER_TREE, "variables": {"id": i}} for i in plans), key=lambda b: len(post(url, b)[0]))
    bodies = {
        "regions": {"query": "{ allRegions { nodes { code name } } }"},
        "plan": tree,
        "measures": {"query": PEER_MEASURES, "variables": {"r": kpss_bodies["measures"]["variables"]["r"][0]}},
        "capacity": {"query": PEER_CAPACITY},
    }
    ids = [m["rowId"] for m in post(url, {"query": f"{{ allMeasures(first: {n_writers}) {{ nodes {{ rowId }} }} }}"})[1]["allMeasures"]["nodes"]]
    versions = lambda i: [0] * len(i)  # PostGraphile's update has no version to send
    peer_write = {**write, "body": PEER_UPDATE}
    print("PostGraphile: ready", file=sys.stderr, flush=True)
    sizes = {op: len(post(url, b)[0]) for op, b in bodies.items()}
    run_ops([(url, srv.pid)], bodies, peer_write, versions, ids, pg.pid, ("PostgreSQL", "PostGraphile"))
    stop(srv)
    return sizes


# --- the run ------------------------------------------------------------------------

def main():
    seeds = os.path.join(work, "seeds")
    subprocess.run([sys.executable, os.path.join(BENCH, "generate.py"), str(args.regions), seeds], check=True)
    secret = secrets.token_hex(32)
    base_env = {**os.environ, "KPSS_RATE_LIMIT_PER_SECOND": "0", "KPSS_MAX_CONCURRENT_PER_SUBJECT": "0", "KPSS_LOG": "warn", "KPSS_SEEDS": seeds,
                "KPSS_JWT_SECRET": secret, "KPSS_DATA_DIR": work, "KPSS_DB_POOL_SIZE": str(POOL_SIZE)}
    tok = lambda role, region="*": subprocess.run([binary, "token", "--sub", "bench", "--role", role, "--region", region],
                                                  env=base_env, check=True, capture_output=True, text=True).stdout.strip()
    write = {"viewer": tok("viewer"), "region viewer": tok("viewer", ONE_REGION), "editor": tok("editor"), "body": UPDATE}
    n_writers = max(write_conns)
    imports, answers, sizes, peer_sizes = {}, {}, {}, {}
    pg_version = None
    for db in ["SQLite", PG]:
        if args.databases and db.split(",")[0].lower() not in args.databases.lower().split(","):
            continue
        pg = None
        if db == "SQLite":
            db_env = {"DATABASE_URL": f"sqlite://{work}/kpss.db"}
        else:
            pg, pg_port, pg_version = start_postgres()
            db_env = {"DATABASE_URL": f"postgres://kpss_service:s@127.0.0.1:{pg_port}/kpss",
                      "KPSS_OWNER_DATABASE_URL": f"postgres://kpss_owner:o@127.0.0.1:{pg_port}/kpss"}
        for name, cfg in configs:
            # The first instance migrates and seeds; the others start once it is ready.
            targets = []
            for i in range(1 if db == "SQLite" else args.instances):
                port = free_port()
                log = os.path.join(work, f"kpss-{db}-{len(rows)}-{i}.log")
                svc = spawn([binary, "serve"], {**base_env, **db_env, **cfg, "KPSS_LISTEN": f"127.0.0.1:{port}"}, log)
                ready = wait_ready(f"http://127.0.0.1:{port}/readyz", svc, log)
                if i == 0:
                    imports.setdefault(db, ready)  # the first start is on an empty database
                targets.append((f"http://127.0.0.1:{port}/graphql", svc))
            url = targets[0][0]
            bodies, ids = kpss_ops(url, write["viewer"], write["editor"], n_writers)
            for op, b in bodies.items():
                raw = post(url, b, {"Authorization": "Bearer " + reader(write, op)})[0]
                answers.setdefault(op, raw)
                sizes.setdefault(op, len(raw))
            print(f"{db}, {name}: ready in {ready:.1f} s", file=sys.stderr, flush=True)
            run_ops([(u, s.pid) for u, s in targets], bodies, write, lambda i: kpss_versions(url, write["viewer"], i), ids,
                    pg.pid if pg else None, (db, name))
            for _, s in targets:
                stop(s)
        if pg and not args.no_peer:
            peer_sizes = run_peer(pg, pg_port, bodies, write, n_writers)
    if not args.no_ceiling:
        run_ceiling(answers)
    return imports, sizes, peer_sizes, pg_version


def start_postgres():
    """A throwaway PostgreSQL cluster on loopback (as nobody when root), with
    the owner and the service role of a production set-up."""
    pgbin = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))[-1]
    data = os.path.join(work, "pg")
    os.mkdir(data)
    as_pg = []
    if os.getuid() == 0:
        shutil.chown(data, "nobody")
        as_pg = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    subprocess.run([*as_pg, f"{pgbin}/initdb", "-D", f"{data}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--locale=C.UTF-8"], check=True, stdout=subprocess.DEVNULL)
    if not args.smoke:  # what bounds commits: one 8 kB write and fdatasync, as PostgreSQL's WAL does
        out = subprocess.run([*as_pg, f"{pgbin}/pg_test_fsync", "-s", "1", "-f", f"{data}/fsync.test"],
                             capture_output=True, text=True).stdout
        m = re.search(r"^\s+fdatasync\s+([\d.]+) ops/sec", out, re.M)
        fsync["rate"] = float(m[1]) if m else None
    port = free_port()
    pg = spawn([*as_pg, f"{pgbin}/postgres", "-D", f"{data}/data", "-k", data, "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"], None, f"{data}/log")
    while subprocess.run([f"{pgbin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode:
        time.sleep(0.1)
    psql = [f"{pgbin}/psql", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    for sql in ["CREATE ROLE kpss_owner LOGIN PASSWORD 'o'", "CREATE ROLE kpss_service LOGIN PASSWORD 's'",
                "CREATE DATABASE kpss OWNER kpss_owner"]:
        subprocess.run([*psql, "-c", sql], check=True)
    version = subprocess.run([*psql, "-Atc", "SHOW server_version"], check=True, capture_output=True, text=True).stdout.strip()
    return pg, port, version


def run_ceiling(answers):
    exe = os.path.join(BENCH, "ceiling/target/release/kpss-ceiling")
    for op in READ_OPS:
        path = os.path.join(work, f"answer-{op}.json")
        open(path, "wb").write(answers[op])
        port = free_port()
        log = os.path.join(work, f"ceiling-{op}.log")
        srv = spawn([exe, path, f"127.0.0.1:{port}"], None, log)
        wait_ready(f"http://127.0.0.1:{port}/readyz", srv, log)
        for c in conns:
            run_wrk([(f"http://127.0.0.1:{port}/graphql", srv.pid)], c, {"MODE": "read", "READS": "{}", "TOKEN": ""}, None,
                    ("–", "ceiling", op))
        stop(srv)


# --- the report ---------------------------------------------------------------------

HEAD = ["database", "configuration", "operation", "connections", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors",
        "peak RSS MB", "service CPU s / 1k req", "PostgreSQL CPU s / 1k req"]


def table(head, body):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                     ["| " + " | ".join(fmt(x) for x in r) + " |" for r in body])


def ratio(a, b):
    return f"{a / b:.3g}" if a and b else "–"


def report(imports, sizes, peer_sizes, pg_version, command):
    rps = {tuple(r[:4]): r[4] for r in rows}
    out = [table(HEAD, rows)]
    if not args.smoke:
        head = ["database", "operation", "connections", "answer bytes (kpss / PostGraphile)", "kpss req/s", "kpss, no cache req/s", "PostGraphile req/s",
                "ceiling req/s", "kpss / PostGraphile", "kpss / ceiling"]
        body = []
        for db in ["SQLite", PG]:
            for op in OPS:
                c = main_conns if op in READ_OPS else write_conns[-1]
                k = rps.get((db, "kpss", op, c))
                nc = rps.get((db, "kpss, no cache", op, c))
                peer = rps.get(("PostgreSQL", "PostGraphile", op, c)) if db == PG else None
                ceil = rps.get(("–", "ceiling", op, c))
                size = f"{sizes[op]} / {peer_sizes.get(op, '–')}" if op in sizes else "–"
                body.append([db, op, c, size, k, nc, peer, ceil, ratio(k, peer), ratio(k, ceil)])
        out.append(f"Side by side, reads at {main_conns} connections, writes at {write_conns[-1]}:\n\n" + table(head, body))
    imp = "\n".join(f"- import of {args.regions} regions into an empty {db.split(',')[0]} database (start to /readyz): {s:.1f} s"
                    for db, s in imports.items())
    out.append(imp)
    if not args.smoke:
        targets = goals(imports)
        mem = open("/proc/meminfo").read().split("\n")[0].split()[1]
        out.insert(0, f"`{command}`, {datetime.date.today()}, {os.cpu_count()} CPUs ({os.popen('nproc').read().strip()} "
                      f"usable), {int(mem) / 1024 / 1024:.1f} GiB memory, PostgreSQL {pg_version}, {args.regions} regions, "
                      f"{args.secs:g} s a run; wrk with 2 threads for reads, one thread a connection for writes." + (
                      f" {PG}: that many kpss processes on one database, each run's connections split between them, "
                      f"one wrk each at once (reads: {max(1, 2 // args.instances)} thread each); req/s, errors, CPU and "
                      "peak RSS summed over the instances, each latency percentile the worst instance's."
                      if args.instances > 1 else ""))
        out.append("Targets:\n\n" + "\n".join(targets))
    return "\n\n".join(out) + "\n"


def goals(imports):
    """The targets of the performance issue this run measures, each as met or
    not met, from this run's rows."""
    at = {tuple(r[:4]): r for r in rows}
    val = lambda db, cfg, op, c, i: (at.get((db, cfg, op, c)) or [None] * 12)[i]
    met = lambda ok: "met" if ok else "not met"
    out = []
    pg, kp, nc, peer, ceil = "PostgreSQL", "kpss", "kpss, no cache", "PostGraphile", "ceiling"
    n = write_conns[-1]
    for op in ["regions", "plan", "measures", "capacity"]:
        k, p = val(pg, nc, op, main_conns, 4), val(pg, peer, op, main_conns, 4)
        if k and p:
            out.append(f"- {op} without the cache on PostgreSQL at {main_conns} connections at least 2× PostGraphile: "
                       f"{k / p:.2f}×, {met(k >= 2 * p)}")
    for op in ["regions", "plan", "measures"]:
        k, c = val(pg, kp, op, main_conns, 4), val("–", ceil, op, main_conns, 4)
        if k and c:
            out.append(f"- {op} with the cache on PostgreSQL at {main_conns} connections at least 50 % of its ceiling: "
                       f"{100 * k / c:.0f} %, {met(k >= c / 2)}")
    w, p = val(pg, kp, "update", n, 4), val(pg, peer, "update", n, 4)
    if w and p:
        disk = f"; the disk does {fsync['rate']:,.0f} fdatasync/s (pg_test_fsync)" if fsync.get("rate") else ""
        out.append(f"- updateMeasure from {n} clients on PostgreSQL at least PostGraphile's plain update: "
                   f"{w:.0f}/s against {p:.0f}/s, {met(w >= p)}{disk}")
    for cfg in [kp, nc]:
        p99 = val("SQLite", cfg, "update", n, 7)
        if p99 is not None:
            out.append(f"- updateMeasure p99 at {n} writers on SQLite ({cfg}) at most 100 ms: {p99:.3g} ms, {met(p99 <= 100)}")
    if args.regions == 206:
        p99 = val(pg, nc, "regions", main_conns, 7)
        if p99 is not None:
            out.append(f"- regions p99 without the cache at {main_conns} connections at most 25 ms: {p99:.3g} ms, {met(p99 <= 25)}")
        for op in ["plan", "measures", "search", "search-region", "capacity"]:
            p50, p99 = val(pg, nc, op, main_conns, 5), val(pg, nc, op, main_conns, 7)
            if p50 and p99:
                out.append(f"- {op} p99 without the cache at {main_conns} connections at most 3× its p50: "
                           f"{p99:g} / {p50:g} ms = {p99 / p50:.1f}×, {met(p99 <= 3 * p50)}")
        rss = max((r[9] for r in rows if r[0] == pg and r[1] in (kp, nc) and r[9]), default=None)
        if rss:
            out.append(f"- peak RSS at 206 regions at most 150 MB (PostgreSQL): {rss:.0f} MB, {met(rss <= 150)}")
    out.append(f"- every answer a success: {met(not failures)}")
    return out


def write_results():
    """bench/RESULTS.md: the latest run of each number of regions, as written."""
    latest = {}
    for f in sorted(glob.glob(os.path.join(BENCH, "results", "run-*-regions.md"))):
        latest[int(f.rsplit("-", 2)[-2])] = f
    parts = [open(latest[n]).read().replace("# bench/run.sh", "## bench/run.sh", 1) for n in sorted(latest)]
    open(os.path.join(BENCH, "RESULTS.md"), "w").write(
        "# Results of bench/run.sh\n\nWritten by `bash bench/run.sh` (see bench/README.md): the latest run of each "
        "number of regions; every run is in `results/run-<date>-<N>-regions.md`. Each line names its command, "
        "the machine and the PostgreSQL it ran on.\n\n" + "\n".join(parts))


if __name__ == "__main__":
    command = "bash bench/run.sh " + " ".join(sys.argv[1:])
    try:
        imports, sizes, peer_sizes, pg_version = main()
        text = report(imports, sizes, peer_sizes, pg_version, command.strip())
    finally:
        cleanup()
    print(text)
    if not args.smoke and not partial:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
        many = f"-{args.instances}-instances" if args.instances > 1 else ""  # not in RESULTS.md
        open(os.path.join(BENCH, "results", f"run-{stamp}-{args.regions}-regions{many}.md"), "w").write(
            f"# bench/run.sh, {args.regions} regions{f', {args.instances} instances' if many else ''}\n\n" + text)
        if not many:
            write_results()
    if failures:
        print("FAILED:\n" + "\n".join(failures), file=sys.stderr)
        sys.exit(1)
