"""Every read model equal to a rebuild from the events, for the version of the code left running.

`python -m tests.faults.readmodels SERVICE` runs in the service's own environment (its database,
and PYTHONPATH first on a new version's code after a rollout): it builds the service as its
bootstrap does, opens the event store and prints one line, MARKER and JSON: `{"available": false}`
while the runtime has no `read_model_differences()`, else `{"available": true, "differences": [...]}`.
The suite runs it in a subprocess because two versions of one package cannot share a process.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from dcert_shared.ids import mask_numbers

from .faults import REPOSITORY
from .system import ServiceSet

MARKER = "read-models: "


@dataclass
class ReadModelCheck:
    service: str
    available: bool
    differences: list[str] = field(default_factory=list)
    error: str | None = None


async def compare(service: str) -> dict[str, Any]:
    bootstrap = importlib.import_module(f"dcert_{service}.bootstrap")
    app = bootstrap.create_app()
    runtime = app.state.runtime
    if not hasattr(runtime, "read_model_differences"):
        return {"available": False}
    await runtime.open_store()
    try:
        differences = await runtime.read_model_differences()
    finally:
        await runtime.pool.close()
    # The differences may quote rows: identity numbers (and certificate numbers) are masked.
    return {"available": True, "differences": [mask_numbers(str(d)) for d in differences]}


async def check(services: ServiceSet, service: str, timeout: float = 180) -> ReadModelCheck:
    """Run the comparison for `service` in a subprocess with the environment of its serving code."""
    env = services.env_of(service, services.code_of(service))
    env["DCERT_LOG_LEVEL"] = "WARNING"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.faults.readmodels",
        service,
        env=env,
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return ReadModelCheck(service, True, error=f"no answer within {timeout:.0f} s")
    lines = [line for line in out.decode(errors="replace").splitlines() if line.startswith(MARKER)]
    if process.returncode != 0 or not lines:
        last = mask_numbers(err.decode(errors="replace").strip().splitlines()[-1:][0] if err.strip() else "")
        return ReadModelCheck(service, True, error=f"exit {process.returncode}: {last[:300]}")
    answer = json.loads(lines[-1][len(MARKER) :])
    return ReadModelCheck(service, bool(answer["available"]), list(answer.get("differences", [])))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(MARKER + json.dumps(asyncio.run(compare(sys.argv[1])), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
