"""The bench run: database, data, server, scenarios, report."""

import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import django
import psycopg

from bench import wrk

# Five rounds: on a shared two-core machine one round in three or four is disturbed (a
# neighbour's burst, a checkpoint); the median of five shrugs off two.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
SUBJECTS = int(os.environ.get("BENCH_SUBJECTS", "1000000"))
BULK = 10_000
# One bulk check takes well under a second: it gets more rounds than the 8-second runs, and a
# warm-up per server worker (each prepares its statements and fills its caches once).
BULK_ROUNDS = max(ROUNDS, 7)
CONNECTIONS = 16
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def log(message: str) -> None:
    print(message, flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


# --- database and data --------------------------------------------------------------------


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


LEDGER_TABLES = (
    "consents_consentevent",
    "consents_consentstate",
    "consents_datasubject",
    "consents_subjectidentifier",
    "consents_idempotencyrecord",
)


def settle_database() -> None:
    """VACUUM (ANALYZE) the ledger's tables, so that autovacuum, woken by the previous run's
    writes, does not take a core in the middle of a measurement."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        for table in LEDGER_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")


def prepare(root: Path, base: str) -> dict:
    from django.core.management import call_command

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    from bench import dataset

    web = dataset.web_organization(base)
    ledger = dataset.ensure_ledger(SUBJECTS, log=log)
    settle_database()
    return {
        "web": web,
        "ledger": ledger,
        "check_key": dataset.api_key(ledger, "consents:check"),
        "export_key": dataset.api_key(ledger, "events:export"),
    }


# --- server -------------------------------------------------------------------------------


class Server:
    """gunicorn with the production config; two sync workers (see docs/benchmarks.md)."""

    def __init__(self, root: Path, port: int, env: dict):
        self.root, self.port, self.env = root, port, env
        self.process = None

    def __enter__(self):
        env = {
            **os.environ,
            **self.env,
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(WORKERS),
            "GUNICORN_TIMEOUT": "300",
        }
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "consent_platform.wsgi",
                "--config",
                "consent_platform/gunicorn.conf.py",
            ],
            cwd=self.root,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/bench/bare") as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def post_json(url: str, body: dict, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


# --- scenarios ----------------------------------------------------------------------------


def scenario_http(base: str, data: dict) -> dict:
    """Scenarios 1 and 6 with their baselines, interleaved round by round."""
    key_env = {"BENCH_API_KEY": data["check_key"], "BENCH_SUBJECTS": str(SUBJECTS)}
    targets = {
        "bare": (f"{base}/bench/bare", "get.lua", {}),
        "pk": (f"{base}/bench/pk", "get.lua", {}),
        "check": (f"{base}/api/v1/checks", "check.lua", key_env),
        "config": (f"{base}/api/v1/sites/demo/config?lang=en", "get.lua", {}),
    }
    for url, script, env in targets.values():  # warm: caches, connections, imports
        wrk.run(url, script, seconds=2, env=env)
    runs = {name: [] for name in targets}
    for round_no in range(ROUNDS):
        for name, (url, script, env) in targets.items():
            result = wrk.run(url, script, seconds=SECONDS, env=env)
            runs[name].append(result)
            log(
                f"  round {round_no + 1} {name}: {result.rps:,.0f} req/s, "
                f"p99 {result.p99_ms:.1f} ms, failed {result.failed}"
            )
    return {
        name: {
            "rps": median([r.rps for r in results]),
            "p50_ms": median([r.p50_ms for r in results]),
            "p99_ms": median([r.p99_ms for r in results]),
            "failed": sum(r.failed for r in results),
            "runs": [round(r.rps) for r in results],
        }
        for name, results in runs.items()
    }


def raw_check_query(organization, purpose, emails: list[str]) -> tuple[str, list]:
    """The product's own check SQL and parameters for `emails`, to run raw: the baseline is
    the query alone (hashes computed before the clock starts), the product is everything."""
    from consents.identifiers import hash_identifiers
    from consents.selectors import check_query

    hashes = hash_identifiers(organization.identifier_secret, "email", emails)
    return check_query(organization, purpose, "email", hashes, with_suppressions=True)


def scenario_bulk(base: str, data: dict) -> dict:
    """Scenario 2: 10,000 emails in one check vs the SQL that fetches the same rows."""
    organization = data["ledger"]
    purpose = organization.purposes.get(key="marketing_email")
    rng = random.Random(8)
    api_ms, sql_ms, rows = [], [], 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for attempt in range(-WORKERS, BULK_ROUNDS):
            emails = [f"person{i}@example.com" for i in rng.sample(range(SUBJECTS), BULK)]
            sql, params = raw_check_query(organization, purpose, emails)
            started = time.perf_counter()
            found = conn.execute(sql, params).fetchall()
            conn.commit()
            sql_time = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            status, body = post_json(
                f"{base}/api/v1/checks",
                {"purpose": "marketing_email", "identifier_type": "email", "identifiers": emails},
                {"Authorization": f"Bearer {data['check_key']}"},
            )
            api_time = (time.perf_counter() - started) * 1000
            answered = len(json.loads(body)["results"])
            if status != 200 or answered != BULK:
                raise RuntimeError(f"bulk check answered {status} with {answered} results")
            if attempt >= 0:  # the first passes only warm
                sql_ms.append(sql_time)
                api_ms.append(api_time)
                rows = len(found)
            log(f"  bulk pass {attempt}: api {api_time:.0f} ms, sql {sql_time:.0f} ms")
    return {"api_ms": median(api_ms), "sql_ms": median(sql_ms), "rows": rows, "passes": len(api_ms)}


def ensure_raw_insert_table(truncate: bool = False) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_insert (id bigserial PRIMARY KEY,"
            " visitor text NOT NULL, purpose text NOT NULL, granted boolean NOT NULL,"
            " recorded_at timestamptz NOT NULL DEFAULT now())"
        )
        if truncate:
            conn.execute("TRUNCATE bench_raw_insert")


def raw_insert_rate(seconds: int, clients: int) -> float:
    """The baseline of scenario 3: each client INSERTs one row and commits, in a loop."""
    url = os.environ["DATABASE_URL"]
    ensure_raw_insert_table(truncate=True)
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while time.monotonic() < stop:
                conn.execute(
                    "INSERT INTO bench_raw_insert (visitor, purpose, granted) VALUES (%s, %s, %s)",
                    [f"visitor-{number}-{counts[number]}", "analytics", True],
                )
                counts[number] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def scenario_writes(base: str, data: dict) -> dict:
    """Scenario 3: banner writes, distinct visitors and one visitor, vs raw INSERT+COMMIT."""
    from consents.models import ConsentEvent, DataSubject, SubjectIdentifier
    from consents.verification import verify_organization_ledger

    url = f"{base}/api/v1/sites/demo/consents"
    run_tag = f"r{int(time.time())}"
    one_visitor = f"bench-one-{run_tag}-visitor"
    results = {"distinct": [], "one": [], "raw": [], "insert_view": []}
    acknowledged = 0
    ensure_raw_insert_table()
    for round_no in range(ROUNDS):
        view = wrk.run(f"{base}/bench/insert", "get.lua", seconds=SECONDS)
        results["insert_view"].append(view)
        log(f"  round {round_no + 1} one-INSERT view: {view.rps:,.0f} req/s")
        for mode in ("distinct", "one"):
            env = {"BENCH_ORIGIN": base, "BENCH_RUN": f"{run_tag}{round_no}{mode[0]}"}
            if mode == "one":
                env["BENCH_VISITOR"] = one_visitor
            result = wrk.run(url, "banner.lua", seconds=SECONDS, env=env)
            results[mode].append(result)
            if mode == "one":
                acknowledged += result.requests - result.failed
            log(
                f"  round {round_no + 1} banner {mode}: {result.rps:,.0f} req/s, "
                f"p99 {result.p99_ms:.1f} ms, failed {result.failed}"
            )
        raw = raw_insert_rate(SECONDS, CONNECTIONS)
        results["raw"].append(raw)
        log(f"  round {round_no + 1} raw insert+commit: {raw:,.0f} rows/s")
    organization = data["web"]
    from consents.identifiers import identifier_hash

    subject_id = (
        SubjectIdentifier.objects.filter(
            organization=organization,
            kind="visitor_id",
            value_hash=identifier_hash(organization.identifier_secret, "visitor_id", one_visitor),
        )
        .values_list("subject_id", flat=True)
        .first()
    )
    chain_length = DataSubject.objects.get(pk=subject_id).chain_length if subject_id else 0
    # Every banner write carries its own event id: the writes recorded for the one visitor
    # are the distinct event ids in its chain (a visitor new to this run).
    recorded = (
        ConsentEvent.objects.filter(subject_id=subject_id)
        .values("client_event_id")
        .distinct()
        .count()
    )
    started = time.monotonic()
    report = verify_organization_ledger(organization)
    log(
        f"  verified {report.events:,} events of {report.subjects:,} chains in "
        f"{time.monotonic() - started:.0f} s: {len(report.problems)} problems"
    )
    return {
        "distinct_rps": median([r.rps for r in results["distinct"]]),
        "distinct_p99_ms": median([r.p99_ms for r in results["distinct"]]),
        "one_rps": median([r.rps for r in results["one"]]),
        "one_p99_ms": median([r.p99_ms for r in results["one"]]),
        "raw_rps": median(results["raw"]),
        "insert_view_rps": median([r.rps for r in results["insert_view"]]),
        "failed": sum(r.failed for mode in ("distinct", "one") for r in results[mode]),
        "one_acknowledged": acknowledged,
        "one_recorded": recorded,
        "one_chain_length": chain_length,
        "lost": max(0, acknowledged - recorded),
        "problems": [p.message for p in report.problems[:5]],
        "problem_count": len(report.problems),
        "verified_events": report.events,
        "verified_chains": report.subjects,
    }


COPY_SQL = """
COPY (
  SELECT e.id, o.slug, s.uid, e.seq, p.key, e.granted, e.source, n.version, e.jurisdiction,
         st.key, e.occurred_at, e.recorded_at, e.actor, e.ip_truncated, e.user_agent,
         e.pii_salt, e.pii_digest, e.client_event_id, e.prev_hash, e.hash
  FROM consents_consentevent e
  JOIN consents_organization o ON o.id = e.organization_id
  JOIN consents_datasubject s ON s.id = e.subject_id
  JOIN consents_purpose p ON p.id = e.purpose_id
  LEFT JOIN consents_notice n ON n.id = e.notice_id
  LEFT JOIN cookies_site st ON st.id = e.site_id
  WHERE e.organization_id = {org}
  ORDER BY e.id
) TO STDOUT
"""


def timed_process(command: list[str], cwd: Path) -> tuple[float, int, bytes]:
    """(seconds, peak RSS in kB, stderr) of a command, its output thrown away."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )
    seconds = time.perf_counter() - started
    rss = int(re.search(rb"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return seconds, rss, done.stderr


def scenario_export(root: Path, data: dict) -> dict:
    """Scenario 4: export_events of the whole ledger as NDJSON vs COPY of the same rows."""
    from consents.models import ConsentEvent

    organization = data["ledger"]
    rows = ConsentEvent.objects.filter(organization=organization).count()
    export_command = [
        sys.executable,
        "manage.py",
        "export_events",
        "--org",
        organization.slug,
        "--format",
        "ndjson",
        "--output",
        "-",
        "--no-progress",
    ]
    copy_command = [
        "psql",
        os.environ["DATABASE_URL"],
        "-q",
        "-c",
        COPY_SQL.format(org=organization.pk),
    ]
    exports, copies = [], []
    for round_no in range(ROUNDS):
        seconds, rss, _ = timed_process(export_command, root)
        exports.append((seconds, rss))
        copy_seconds, copy_rss, _ = timed_process(copy_command, root)
        copies.append(copy_seconds)
        log(
            f"  round {round_no + 1} export {rows / seconds:,.0f} rows/s ({rss / 1024:.0f} MB), "
            f"COPY {rows / copy_seconds:,.0f} rows/s"
        )
    return {
        "rows": rows,
        "export_rows_per_s": rows / median([s for s, _ in exports]),
        "export_seconds": median([s for s, _ in exports]),
        "peak_rss_mb": max(r for _, r in exports) / 1024,
        "copy_rows_per_s": rows / median(copies),
        "copy_seconds": median(copies),
    }


def scenario_http_export(base: str, data: dict) -> dict:
    """The same export through the API (one request, streamed), for the record."""
    request = urllib.request.Request(
        f"{base}/api/v1/events/export?format=ndjson",
        headers={"Authorization": f"Bearer {data['export_key']}"},
    )
    started = time.perf_counter()
    lines = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        while chunk := response.read(1 << 20):
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": lines - 1, "seconds": seconds}


# --- facts and report ---------------------------------------------------------------------


def machine_facts() -> dict:
    import django as dj

    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    cpu = re.search(r"model name\s+:\s+(.*)", Path("/proc/cpuinfo").read_text())
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    return {
        "cores": os.cpu_count(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "django": dj.get_version(),
        "postgresql": pg.split()[0],
        "synchronous_commit": sync,
        "shared_buffers": buffers,
        "os": platform.platform(),
        "wrk": wrk_version,
    }


def run_all(root: Path, base: str, port: int, env: dict) -> int:
    from bench import browser, report

    started = time.monotonic()
    log("preparing database and data")
    data = prepare(root, base)
    results = {"facts": machine_facts(), "rounds": ROUNDS, "seconds": SECONDS}
    results["subjects"] = SUBJECTS
    results["load_start"] = os.getloadavg()[0]
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    with Server(root, port, env) as server:
        results["workers"] = len(server.worker_pids())
        if wanted("http"):
            log("scenarios 1 and 6: single check, config, bare and primary-key baselines")
            results["http"] = scenario_http(base, data)
        if wanted("bulk"):
            log("scenario 2: bulk check of 10,000 emails")
            results["bulk"] = scenario_bulk(base, data)
        if wanted("writes"):
            log("scenario 3: banner writes")
            results["writes"] = scenario_writes(base, data)
        if wanted("export"):
            if wanted("writes"):
                settle_database()  # the writes just added tens of thousands of rows
            log("scenario 4: export")
            results["export"] = scenario_export(root, data)
            results["http_export"] = scenario_http_export(base, data)
        if wanted("banner"):
            log("scenario 5: banner weight and timing")
            results["banner"] = browser.scenario_banner(root, base)
    results["duration_s"] = time.monotonic() - started
    results["load_end"] = os.getloadavg()[0]
    out = root / "bench" / ".results.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    if only:
        log(f"partial run ({', '.join(sorted(only))}): results in {out}, report not written")
        return 0
    target = root / "docs" / "benchmarks.md"
    notes = ""
    if target.exists() and report.NOTES_MARKER in target.read_text():
        notes = target.read_text().split(report.NOTES_MARKER, 1)[1]
    text = report.render(results, notes)
    target.write_text(text)
    log(text)
    return 0
