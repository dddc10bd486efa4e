"""Lifecycle benchmark: applications processed end to end per second, and a duplicate-application race.

Starts the whole system as the end-to-end tests do (bench/system.py: embedded PostgreSQL and
NATS, or DATABASE_URL / NATS_URL; four fresh databases; the four services as real processes;
public notice of 0 working days), registers an institution and a doctor, then measures, through
the public HTTP API only:

- end to end: an application goes POST /v1/applications -> its assessment appears in the
  doctor's list -> the doctor records the result -> after the public notice it is `assessed` ->
  the reviewer approves -> the certificate is issued -> the benefits service answers 200 with
  items for the certificate number. `--applications` of them with 1 client (the baseline) and
  again with `--clients` concurrent clients (httpx.AsyncClient each), in the same run: prints
  applications/s, the ratio to the baseline, and p50/p90 latency per application.
- race: `--races` times, two `new` applications for one person at the same moment from two
  regions (residence 330502 and 310101, household 330502). Counts 201s and 409s, carries every
  accepted application to issuance, then counts the persons with more than one issued
  certificate or more than one open application. Exits 1 unless that count is 0 and every
  accepted application was issued.

    make bench
    .venv/bin/python bench/end_to_end.py --applications 20 --races 20
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from system import LOG_DIR, Client, expect, running_system, wait_for

from dcert_shared.ids import make_identity_number

HOME = "330502"  # 湖州市吴兴区: every person's household region, and the reviewer's
AWAY = "310101"  # 上海市黄浦区: another province, where a residence permit is needed
CLOSED = ("issued", "completed", "rejected", "withdrawn")
WARM_UP = 2  # applications carried through before measuring (connections, caches, consumers)

_persons = itertools.count()


def new_person() -> str:
    """An adult's identity number not given before in this run."""
    n = next(_persons)
    return make_identity_number(HOME, date(1950, 1, 1) + timedelta(days=n // 999), n % 999 + 1)


def new_application(person: str, residence_region: str = HOME) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matter": "new",
        "applicant": {
            "id_number": person,
            "name": "王小明",
            "phone": "13800000000",
            "household_region": HOME,
            "residence_region": residence_region,
            "address": "湖州市吴兴区人民路1号",
        },
        "agent": None,
        "declared_category": "physical",
        "home_visit": False,
        "consent": True,
    }
    if residence_region[:2] != HOME[:2]:
        # Sent with the first request, not after a 422: the two of a race must leave together.
        valid_until = (date.today() + timedelta(days=365)).isoformat()
        body["documents"] = [
            {"type": "residence_permit", "number": f"JZZ{person}", "valid_until": valid_until}
        ]
    return body


@dataclass
class Staff:
    """A doctor per residence region (assessment goes to the nearest institution) and a reviewer."""

    doctors: dict[str, str]
    reviewer: str


async def register_staff(client: Client) -> Staff:
    admin = await client.token("admin", "bench-admin")
    doctors = {}
    for region in (HOME, AWAY):
        institution = await client.call(
            "assessment",
            "POST",
            "/v1/institutions",
            {"name": f"残疾评定机构{region}", "region": region, "categories": ["physical"]},
            admin,
        )
        doctor = await client.call(
            "assessment",
            "POST",
            "/v1/doctors",
            {
                "name": "李医生",
                "institution_id": expect(institution, 201).json()["id"],
                "license_no": f"LIC-BENCH-{region}",
                "categories": ["physical"],
            },
            admin,
        )
        doctors[region] = await client.token(
            "doctor", f"doctor-{region}", doctor_id=expect(doctor, 201).json()["id"]
        )
    return Staff(doctors, await client.token("reviewer", "bench-reviewer", region=HOME))


async def carry_through(client: Client, staff: Staff, token: str, application_id: str, region: str) -> str:
    """From a submitted application to the benefits of its certificate; the certificate number."""
    doctor = staff.doctors[region]

    async def scheduled() -> str | None:
        answer = await client.call(
            "assessment", "GET", "/v1/assessments?assigned=me&status=scheduled&limit=500", token=doctor
        )
        items = expect(answer, 200).json()["items"]
        return next((item["id"] for item in items if item["application_id"] == application_id), None)

    async def application() -> dict[str, Any]:
        answer = await client.call("certificate", "GET", f"/v1/applications/{application_id}", token=token)
        return dict(expect(answer, 200).json())

    async def assessed() -> bool:
        return (await application())["status"] == "assessed"

    async def issued() -> str | None:
        return (await application()).get("certificate_number")

    assessment_id = await wait_for(scheduled, f"assessment of {application_id}")
    result = {"category": "physical", "level": 3, "findings": "一侧下肢功能障碍", "measurements": {}}
    expect(
        await client.call("assessment", "POST", f"/v1/assessments/{assessment_id}/result", result, doctor),
        200,
        201,
    )
    await wait_for(assessed, f"{application_id} assessed")
    decision = {"decision": "approve"}
    path = f"/v1/applications/{application_id}/decision"
    expect(await client.call("certificate", "POST", path, decision, staff.reviewer), 200)
    number = await wait_for(issued, f"certificate of {application_id}")

    async def benefits() -> bool:
        answer = await client.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=token)
        return answer.status_code == 200 and bool(answer.json()["items"])

    await wait_for(benefits, f"benefits of {number}")
    return number


async def one_application(client: Client, staff: Staff) -> float:
    """One person's application carried through; its end-to-end latency in seconds."""
    person = new_person()
    token = await client.token("applicant", f"citizen-{person}", id_number=person)
    started = time.perf_counter()
    created = await client.call("certificate", "POST", "/v1/applications", new_application(person), token)
    await carry_through(client, staff, token, expect(created, 201).json()["id"], HOME)
    return time.perf_counter() - started


async def throughput(
    ports: dict[str, int], staff: Staff, clients: int, applications: int
) -> tuple[float, list[float]]:
    """`applications` carried through by `clients` concurrent clients: applications/s, latencies."""
    pending = iter(range(applications))  # shared: each client takes the next one when it is free
    latencies: list[float] = []

    async def run_client() -> None:
        client = Client(ports)
        try:
            for _ in pending:
                latencies.append(await one_application(client, staff))
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(run_client() for _ in range(clients)))
    return applications / (time.perf_counter() - started), latencies


@dataclass
class RaceResult:
    answers: Counter[int]
    not_issued: list[str]
    double_certificates: int
    double_open: int


async def race(ports: dict[str, int], staff: Staff, clients: int, pairs: int) -> RaceResult:
    """Pairs of simultaneous applications for one person from two regions, each accepted one issued."""
    pending = iter(range(pairs))
    answers: Counter[int] = Counter()
    not_issued: list[str] = []
    persons: dict[str, str] = {}  # identity number -> the person's token

    async def run_client() -> None:
        client = Client(ports)
        try:
            for _ in pending:
                person = new_person()
                token = persons[person] = await client.token(
                    "applicant", f"citizen-{person}", id_number=person
                )
                submitted = await asyncio.gather(
                    *(
                        client.call(
                            "certificate", "POST", "/v1/applications", new_application(person, region), token
                        )
                        for region in (HOME, AWAY)
                    )
                )
                answers.update(answer.status_code for answer in submitted)
                carried = await asyncio.gather(
                    *(
                        carry_through(client, staff, token, answer.json()["id"], region)
                        for region, answer in zip((HOME, AWAY), submitted, strict=True)
                        if answer.status_code == 201
                    ),
                    return_exceptions=True,
                )
                not_issued.extend(str(outcome) for outcome in carried if isinstance(outcome, Exception))
        finally:
            await client.close()

    await asyncio.gather(*(run_client() for _ in range(clients)))
    double_certificates = double_open = 0
    client = Client(ports)
    try:
        for token in persons.values():
            answer = await client.call("certificate", "GET", "/v1/applications?matter=new", token=token)
            statuses = [item["status"] for item in expect(answer, 200).json()["items"]]
            double_certificates += statuses.count("issued") > 1
            double_open += sum(status not in CLOSED for status in statuses) > 1
    finally:
        await client.close()
    return RaceResult(answers, not_issued, double_certificates, double_open)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency(values: list[float]) -> str:
    return f"latency p50 {percentile(values, 0.5):.2f} s, p90 {percentile(values, 0.9):.2f} s"


async def bench(ports: dict[str, int], args: argparse.Namespace) -> int:
    client = Client(ports)
    try:
        staff = await register_staff(client)
        for _ in range(WARM_UP):
            await one_application(client, staff)
    finally:
        await client.close()

    baseline, latencies = await throughput(ports, staff, 1, args.applications)
    print(f"end-to-end  1 client: {baseline:.1f} app/s (baseline), {latency(latencies)}", flush=True)
    concurrent, latencies = await throughput(ports, staff, args.clients, args.applications)
    print(
        f"end-to-end {args.clients:>2} clients: {concurrent:.1f} app/s = {concurrent / baseline:.2f}x baseline, "
        f"{latency(latencies)}",
        flush=True,
    )

    result = await race(ports, staff, args.clients, args.races)
    others = sum(count for status, count in result.answers.items() if status not in (201, 409))
    print(
        f"race: {args.races} pairs, {result.answers[201]} accepted, {result.answers[409]} refused"
        + (f", {others} other answers {dict(result.answers)}" if others else "")
        + f", double certificates: {result.double_certificates}"
        + f", double open applications: {result.double_open}"
    )
    for failure in result.not_issued:
        print(f"race: an accepted application was not issued: {failure}")
    return 1 if result.double_certificates or result.double_open or result.not_issued else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--applications", type=int, default=60, help="applications per measured run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients against the baseline's 1")
    parser.add_argument("--races", type=int, default=200, help="pairs of simultaneous applications")
    args = parser.parse_args()
    started = time.perf_counter()
    with running_system() as ports:
        print(
            f"system: four services up in {time.perf_counter() - started:.1f} s (logs in {LOG_DIR})",
            flush=True,
        )
        return asyncio.run(bench(ports, args))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop everything as on Ctrl-C
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
