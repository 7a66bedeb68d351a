"""What a mapped HubSpot list costs: a full membership read of a large list, and a churn.

Run from the repository root (several minutes at the default size)::

    .venv/bin/python -m benchmarks.bench_segments --quick     # 5,000 members, a smoke run
    .venv/bin/python -m benchmarks.bench_segments             # 100,000 members

`syncer sandbox` runs as a child process with its default limits (HubSpot 100 calls per rolling
10 s); `syncer run --json` runs as another child. The world: ``--size`` people on both sides,
agreeing, all in one MANUAL HubSpot list mapped to the tag ``MQL`` they already carry. Stages:

1. **initial**: the first sync, which reads every contact, member and the list;
2. **list-due**: no change anywhere, the list due for its read (``list_read_minutes: 0``): the
   cost of one full read, ``ceil(size / 250)`` membership calls;
3. **list-not-due**: the same with the default ``list_read_minutes: 15``: the list costs nothing;
4. **churn**: 1% of the list leaves; the read finds them and one tags write each removes
   ``MQL`` (in Mailchimp batches).

Floors: a full read is ``ceil(size / 250)`` calls; at 100 calls per 10 s that is
``size / 2500`` seconds at best. Results go to ``benchmarks/results/bench_segments-<time>.json``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    SandboxProcess,
    print_table,
    run_syncer,
    save_results,
    total_calls,
    write_config,
)

TAG = "MQL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 members")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    size = 5000 if args.quick else args.size
    with (
        tempfile.TemporaryDirectory() as folder,
        SandboxProcess(Path(folder) / "sandbox.log") as sandbox,
    ):
        results = bench(sandbox, Path(folder), size, args.latency_ms)
    path = save_results("bench_segments", {"size": size, "stages": results})
    print_table(
        ["stage", "exit", "wall s", "calls", "list calls", "floor", "peak MB", "tags removed"],
        [
            [
                r["stage"],
                r["exit_code"],
                f"{r['wall_s']:.1f}",
                r["calls"],
                r["list_calls"],
                r["floor"],
                f"{r['peak_rss_mb']:.0f}",
                r["counts"].get("tags_removed", 0),
            ]
            for r in results
        ],
    )
    print(f"results: {path}")


def bench(sandbox: SandboxProcess, folder: Path, size: int, latency_ms: float) -> list[Any]:
    sandbox.reset(latency_ms)
    emails = [f"member{i:06d}@bench.org" for i in range(size)]
    ids = sandbox.seed_hubspot(
        [{"properties": {"email": e, "firstname": "M", "newsletter": "true"}} for e in emails]
    )
    sandbox.seed_mailchimp(
        [
            {
                "email_address": e,
                "status": "subscribed",
                "merge_fields": {"FNAME": "M"},
                "tags": [TAG],
            }
            for e in emails
        ]
    )
    list_id = sandbox.post(
        "hubspot", "/_sim/lists", {"name": "MQLs", "processingType": "MANUAL", "members": ids}
    )["listId"]
    tags = [{"hubspot_list": "MQLs", "mailchimp_tag": TAG}]
    floor = math.ceil(size / 250)
    stages: list[tuple[str, float, int]] = [
        ("initial", 0, floor),
        ("list-due", 0, floor),
        ("list-not-due", 15, 0),
        ("churn", 0, floor),
    ]
    results = []
    for stage, minutes, stage_floor in stages:
        if stage == "churn":
            leaving = ids[: max(1, size // 100)]
            sandbox.post("hubspot", "/_sim/lists/members", {"listId": list_id, "remove": leaving})
        sandbox.advance(900)
        config = write_config(
            folder, sandbox.info, tags=tags, segments={"list_read_minutes": minutes}
        )
        run = run_syncer(config, "--json", timeout=3600)
        calls = run.syncer_calls
        list_calls = sum(
            count
            for endpoint, count in calls.get("hubspot", {}).items()
            if "/crm/v3/lists/" in endpoint
        )
        results.append(
            {
                "stage": stage,
                "exit_code": run.exit_code,
                "wall_s": run.wall_s,
                "peak_rss_mb": run.peak_rss_mb,
                "calls": total_calls(calls),
                "list_calls": list_calls,
                "floor": stage_floor,
                "counts": run.counts,
                "run": run.as_json(),
            }
        )
    return results


if __name__ == "__main__":
    main()
