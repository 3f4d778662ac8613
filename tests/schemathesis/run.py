"""Fuzzes a real `stepwise serve` with schemathesis, as a patient and as a therapist.

Run by scripts/api-fuzz with the python of `scripts/python-venv schemathesis`:

    python tests/schemathesis/run.py --stepwise target/debug/stepwise \
        --database sqlite:/tmp/x/fuzz.db --label sqlite --report-dir target/api-fuzz

Starts the server on DATABASE (empty), creates a clinic with `stepwise admin create-clinic`,
seeds a therapist and a patient with a few weeks of data through the API (walks, two-hour and
next-morning answers, a flare, a paired band and its upload, a weekly review, an outcome, the
next visit), logs both in, and runs `schemathesis run` against /api/openapi.json once per role
with the session cookie and the CSRF token. Every answer is checked against the document:

    not_a_server_error            no 5xx
    status_code_conformance       every status is documented for its operation
    content_type_conformance      every content type is documented
    response_schema_conformance   every body matches its documented schema
    response_headers_conformance  documented headers are present and match

Exits non-zero when any check failed on any run; prints the figures of each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)

# Operations left out of a logged-in run, each with its reason. Everything else is fuzzed.
EXCLUDED = {
    # Ends the very session the run is authenticated with: every later request would be a 401.
    # Logging out is covered by crates/stepwise-server/tests (api.rs, roles.rs).
    ("POST", "/auth/logout"): "ends the run's own session",
}

PASSWORD = "fuzz-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_server(python: str) -> tuple[subprocess.Popen, int]:
    """A real SMTP server (aiosmtpd) that accepts every message and drops it, so the e-mail
    operations (reset links, e-mailed invites) run as on a server that sends e-mail."""
    port = free_port()
    proc = subprocess.Popen(
        [python, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("the SMTP server (aiosmtpd) did not start")
            time.sleep(0.1)


def say(*args: object) -> None:
    print("api-fuzz:", *args, file=sys.stderr, flush=True)


class Server:
    """`stepwise serve` as a child process; its log goes to a file."""

    def __init__(self, binary: str, database: str, log_path: Path, extra: list[str]) -> None:
        env = dict(os.environ)
        env.pop("STEPWISE_DATABASE", None)
        env["STEPWISE_LOG"] = "info"
        self.log = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [binary, "serve", "--database", database, "--listen", "127.0.0.1:0", *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self.proc.stderr is not None
        self.url = None
        said = []
        for line in self.proc.stderr:
            self.log.write(line)
            said.append(line)
            if line.startswith("Stepwise is listening on "):
                self.url = line.removeprefix("Stepwise is listening on ").split()[0]
                break
        if self.url is None:
            raise SystemExit("stepwise serve stopped before listening:\n" + "".join(said))
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.write(line)
            self.log.flush()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Client:
    def __init__(self, api: str) -> None:
        self.api = api
        self.http = requests.Session()
        self.csrf = ""

    def login(self, email: str, password: str) -> None:
        answer = self.http.post(f"{self.api}/auth/login", json={"email": email, "password": password})
        answer.raise_for_status()
        self.csrf = answer.json()["csrf_token"]

    @property
    def cookie(self) -> str:
        return self.http.cookies["stepwise_session"]

    def send(self, method: str, path: str, body: object = None, expect: tuple[int, ...] = (200, 201, 204)):
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        answer = self.http.request(method, f"{self.api}{path}", json=body, headers=headers)
        if answer.status_code not in expect:
            raise SystemExit(f"seeding: {method} {path} answered {answer.status_code}: {answer.text}")
        return answer.json() if answer.content and "json" in answer.headers.get("content-type", "") else None


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(binary: str, database: str, api: str) -> dict:
    """A clinic, a therapist and a patient with data; returns the ids and logins."""
    env = dict(os.environ, STEPWISE_ADMIN_PASSWORD="admin-password-1")
    env.pop("STEPWISE_DATABASE", None)
    subprocess.run(
        [binary, "admin", "create-clinic", "--database", database, "--name", "Fuzz Physio",
         "--admin-email", "admin@fuzz.example", "--admin-name", "Ada Admin"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )
    admin = Client(api)
    admin.login("admin@fuzz.example", "admin-password-1")
    code = admin.send("POST", "/invites", {"role": "therapist"})["code"]
    anon = Client(api)
    therapist_id = anon.send("POST", "/invites/accept", {
        "code": code, "email": "tess@fuzz.example", "display_name": "Tess Therapist",
        "password": PASSWORD})["id"]
    code = admin.send("POST", "/invites", {
        "role": "patient", "therapist_id": therapist_id, "timezone": "Europe/London"})["code"]
    patient_id = anon.send("POST", "/invites/accept", {
        "code": code, "email": "pat@fuzz.example", "display_name": "Pat Patient",
        "password": PASSWORD})["id"]

    patient = Client(api)
    patient.login("pat@fuzz.example", PASSWORD)
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    today = now.date()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    walks = []
    # Last week: three walks with their two-hour and next-morning answers.
    for n, day in enumerate((0, 2, 4)):
        start = dt.datetime.combine(last_monday + dt.timedelta(days=day), dt.time(10, 0), dt.timezone.utc)
        walk = patient.send("POST", "/me/sessions", {
            "client_id": f"seed-{n}", "started_at": iso(start),
            "ended_at": iso(start + dt.timedelta(minutes=20)), "walked_s": 1200, "bouts": 2,
            "pain_before": 2, "pain_during_max": 4, "effort": 5, "rest_type": "sit"})
        walks.append(walk["id"])
        patient.send("POST", f"/me/sessions/{walk['id']}/two-hour-check", {"pain_after_2h": 3})
        patient.send("POST", f"/me/sessions/{walk['id']}/next-morning-check", {"pain_next_morning": 3})
    # A walk that ended 3 hours ago: still correctable, its two-hour check open.
    start = now - dt.timedelta(hours=3, minutes=20)
    recent = patient.send("POST", "/me/sessions", {
        "client_id": "seed-recent", "started_at": iso(start),
        "ended_at": iso(start + dt.timedelta(minutes=20)), "walked_s": 1200, "bouts": 2,
        "pain_before": 2, "pain_during_max": 3, "effort": 4, "rest_type": "stand_still"})["id"]
    patient.send("POST", "/me/flares", {
        "client_id": "seed-flare", "started_at": iso(now - dt.timedelta(days=1)), "pain": 5})
    patient.send("PUT", "/me/reminder-settings", {
        "session_reminders": True, "session_times": ["07:30", "17:00"],
        "session_days": ["Mon", "Wed", "Fri"], "quiet_hours": {"start": "22:00", "end": "07:00"}})
    token = pair_band(api, patient)
    band = requests.Session()
    minute = start.replace(second=0)
    answer = band.post(f"{api}/samples", headers={"Authorization": f"Bearer {token}"}, json={
        "runs": [{"start": iso(minute), "steps": [90] * 20, "heart_rate": [100] * 20}],
        "sleep": [{"start": iso(now - dt.timedelta(hours=30)), "end": iso(now - dt.timedelta(hours=29)),
                   "stage": "deep"}]})
    if answer.status_code != 200:
        raise SystemExit(f"seeding: POST /samples answered {answer.status_code}: {answer.text}")

    therapist = Client(api)
    therapist.login("tess@fuzz.example", PASSWORD)
    therapist.send("POST", f"/patients/{patient_id}/reviews", {})
    # A red flag (pain at the alert level, 8 by default): this week's review escalates at once,
    # and its acknowledgement is what the therapist's run gets to try.
    patient.send("POST", "/me/flares", {
        "client_id": "seed-red-flag", "started_at": iso(now - dt.timedelta(hours=2)), "pain": 9})
    reviews = therapist.send("GET", f"/patients/{patient_id}/reviews")
    escalated = [r for r in reviews if r["output"]["decision"] == "escalate"]
    if not escalated:
        raise SystemExit(f"seeding: the red flag escalated no review: {reviews}")
    review = escalated[0]
    therapist.send("PUT", f"/patients/{patient_id}/next-visit",
                   {"next_visit": (today + dt.timedelta(days=7)).isoformat()})
    therapist.send("POST", f"/patients/{patient_id}/outcomes",
                   {"kind": "oswestry", "value": 34, "measured_on": today.isoformat()})
    return {
        "patient": patient, "therapist": therapist, "patient_id": patient_id,
        "therapist_id": therapist_id, "walk_id": recent, "review_id": review["id"],
    }


def pair_band(api: str, patient: Client) -> str:
    """Pairs a band for the patient; returns its upload token."""
    pairing = patient.send("POST", "/me/pairing-codes")["code"]
    device = Client(api).send("POST", "/devices/pair", {
        "code": pairing, "device": {"kind": "mi-band-5", "address": "C8:0F:10:00:00:01", "name": "Band"}})
    return device["token"]


def config(path: Path, client: Client, parameters: dict, device_token: str, seed_value: int) -> None:
    """The run's schemathesis.toml: the login, the device token, the seeded ids."""
    lines = [
        f"seed = {seed_value}",
        "[cache]",
        # No state kept between runs (it would land in the current directory): every run
        # starts from the seed alone, the same on every machine.
        "enabled = false",
        "[generation]",
        'database = "none"',
        "[auth.openapi.session]",
        f'api_key = "{client.cookie}"',
        "[auth.openapi.csrf]",
        f'api_key = "{client.csrf}"',
        "[auth.openapi.deviceToken]",
        f'bearer = "{device_token}"',
        "[parameters]",
    ]
    lines += [f'"path.{name}" = {value}' for name, value in parameters.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_schemathesis(schemathesis: str, url: str, cfg: Path, report: Path, args) -> tuple[int, dict]:
    command = [
        schemathesis, "--config-file", str(cfg), "run", f"{url}/api/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(args.max_examples),
        "--max-time", str(args.max_time),
        "--workers", str(args.workers),
        "--phases", args.phases,
        "--request-timeout", "30",
        "--report", "ndjson", "--report-ndjson-path", str(report),
        "--output-truncate", "true",
    ]
    for method, path in EXCLUDED:
        command += ["--exclude-name", f"{method} {path}"]
    started = time.monotonic()
    proc = subprocess.Popen(command, env=dict(os.environ, NO_COLOR="1"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    figures: dict = {}
    with open(report.with_suffix(".txt"), "w", encoding="utf-8") as out:
        for line in proc.stdout:
            sys.stdout.write(line)
            out.write(line)
            words = line.split()
            if line.strip().startswith("Tested:"):
                figures["operations"] = int(words[1])
            elif len(words) > 1 and words[0].isdigit() and words[1].startswith("generated"):
                figures["test cases"] = int(words[0])
    rc = proc.wait()
    figures["seconds"] = round(time.monotonic() - started, 1)
    return rc, figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stepwise", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--report-dir", required=True)
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--max-time", type=int, default=45)
    # One worker: schemathesis's threads parse Python source concurrently (hypothesis describing
    # its lambdas), which CPython 3.11 before 3.11.8 can fail at ("AST constructor recursion
    # depth mismatch"); the server, not the fuzzer, is what is under test.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--roles", default="patient,therapist")
    parser.add_argument("--smtp-python", required=True, help="the python of scripts/python-venv smtp")
    args = parser.parse_args()

    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    smtp, smtp_port = smtp_server(args.smtp_python)
    server = Server(args.stepwise, args.database, report_dir / f"{args.label}-server.log", [
        "--smtp-url", f"smtp://127.0.0.1:{smtp_port}", "--public-url", "https://stepwise.fuzz.example"])
    failed = []
    try:
        api = f"{server.url}/api/v1"
        seeded = seed(args.stepwise, args.database, api)
        say(f"{args.label}: seeded patient {seeded['patient_id']}, therapist {seeded['therapist_id']}")
        roles = {
            "patient": (seeded["patient"], {"session_id": seeded["walk_id"],
                                            "id": seeded["patient_id"]}),
            "therapist": (seeded["therapist"], {"id": seeded["patient_id"],
                                                "review_id": seeded["review_id"],
                                                "session_id": seeded["walk_id"]}),
        }
        for role in args.roles.split(","):
            client, parameters = roles[role]
            with tempfile.TemporaryDirectory() as scratch:
                cfg = Path(scratch) / "schemathesis.toml"
                # A band of its own for each run: the patient's run may remove bands.
                token = pair_band(api, seeded["patient"])
                config(cfg, client, parameters, token, args.seed)
                say(f"{args.label}: fuzzing as the {role}")
                rc, figures = run_schemathesis(
                    schemathesis, server.url, cfg, report_dir / f"{args.label}-{role}.ndjson", args)
            say(f"{args.label} {role}: {figures.get('operations', '?')} operations, "
                f"{figures.get('test cases', '?')} test cases, {figures['seconds']} s, "
                + ("passed" if rc == 0 else f"FAILED (exit {rc})"))
            if rc != 0:
                failed.append(f"{args.label} {role}")
    finally:
        server.stop()
        smtp.terminate()
        smtp.wait()
    errors = [line for line in (report_dir / f"{args.label}-server.log").read_text().splitlines()
              if "ERROR" in line or "panicked" in line]
    if errors:
        say(f"{args.label}: the server logged errors:")
        for line in errors[:50]:
            print(line, file=sys.stderr)
        failed.append(f"{args.label} server log")
    if failed:
        raise SystemExit(f"api-fuzz: failures in {', '.join(failed)}")


if __name__ == "__main__":
    main()
