"""syncer's Mailchimp client against the simulator, faults included."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.connectors.mailchimp.batches import Outcome, classify, parse_archive
from syncer.connectors.mailchimp.client import MailchimpClient, MemberOperation
from syncer.core.identity import subscriber_hash
from syncer.errors import ArchiveError, RemoteError
from tests.support.sandbox import SandboxDriver

ALL_FAULTS = ["429", "500", "503", "slow", "drop", "malformed", "truncated_archive"]


def client(sim: SandboxDriver, tmp_path: Path) -> MailchimpClient:
    config = sim.config(tmp_path, http={"max_tries": 8, "max_time": 60, "read_timeout": 1.0})
    return MailchimpClient(config.mailchimp, config.http)


def members(count: int, prefix: str = "m") -> list[dict[str, object]]:
    return [
        {
            "email_address": f"{prefix}{i:05d}@northwind-mail.com",
            "status": "subscribed",
            "merge_fields": {"FNAME": f"N{i}"},
        }
        for i in range(count)
    ]


def upserts(count: int) -> list[MemberOperation]:
    """Batch operations adding ``count`` new members, operation ids 0 to ``count - 1``."""
    return [
        MemberOperation(
            operation_id=str(i),
            subscriber_hash=subscriber_hash(f"b{i}@northwind-mail.com"),
            body={"email_address": f"b{i}@northwind-mail.com", "status_if_new": "subscribed"},
        )
        for i in range(count)
    ]


def test_pages_of_a_thousand_read_each_member_once(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_mailchimp(members(2500))
    api = client(sim, tmp_path)
    pages = list(api.changed_members(None, ["FNAME"]))
    emails = [member.email for page in pages for member in page]
    assert len(emails) == len(set(emails)) == 2500
    assert pages[0][0].merge_fields == {"FNAME": "N0"}
    assert api.api.calls["GET /lists/{list_id}/members"] == 3 + 1  # three pages, one archived walk


@pytest.mark.parametrize("rate", [0.05, 0.3], ids=["five-percent", "thirty-percent"])
def test_faults_do_not_lose_or_double_a_member(
    sim: SandboxDriver, tmp_path: Path, rate: float
) -> None:
    sim.seed_mailchimp(members(2500))
    sim.configure("mailchimp", {"slow_s": 1.5})
    api = client(sim, tmp_path)
    since = datetime.now(UTC) - timedelta(hours=1)
    for seed in range(3):
        sim.faults("mailchimp", {"rate": rate, "kinds": ALL_FAULTS, "seed": seed})
        emails = [m.email for page in api.changed_members(since, ["FNAME"]) for m in page]
        assert len(emails) == len(set(emails)) == 2500
    if rate > 0.1:
        listed = sim.requests("mailchimp")["counts"]["GET /3.0/lists/{list_id}/members"]
        assert listed > 3 * 4, "no fault struck: the test proves nothing"


def test_every_batch_result_arrives_despite_faults(sim: SandboxDriver, tmp_path: Path) -> None:
    api = client(sim, tmp_path)
    operations = upserts(1200)
    sim.faults("mailchimp", {"rate": 0.2, "kinds": ALL_FAULTS, "seed": 5})
    batches = [api.submit_batch(operations[:1000]), api.submit_batch(operations[1000:])]
    results = []
    for batch in batches:
        for _ in range(400):
            status = api.get_batch(batch.id)
            if status.done:
                break
        for _ in range(20):
            try:
                results.extend(api.batch_results(status))
                break
            except (ArchiveError, RemoteError):
                status = api.get_batch(batch.id)
    assert sorted(int(r.operation_id) for r in results) == list(range(1200))
    assert all(r.status_code == 200 for r in results)
    counts = sim.requests("mailchimp")["counts"]
    assert counts["POST /3.0/batches"] >= 2
    assert sum(counts.values()) > 2 + 2 * 3, "no fault struck: the test proves nothing"


@pytest.mark.parametrize("fault", ["drop", "malformed"])
def test_a_submission_whose_answer_is_lost_is_found_not_sent_twice(
    sim: SandboxDriver, tmp_path: Path, fault: str
) -> None:
    """``drop`` and ``malformed`` make the batch and lose its answer; sent again, a second copy
    would run where no look at waiting batches sees it (``run.cancel``: soak seed 20261123
    lost a mid-run edit to one). The client lists the batches first and takes the one it
    made."""
    api = client(sim, tmp_path)
    operations = upserts(3)
    api.submit_batch(operations[:1])  # an earlier batch, of another size
    sim.faults("mailchimp", {"rate": 1, "kinds": [fault], "paths": ["POST /3.0/batches"]})
    heal = {"method": "POST", "path": "/_sim/faults", "body": {"rate": 0}}
    sim.trigger_after("mailchimp", "POST /3.0/batches", heal)

    batch = api.submit_batch(operations[1:])
    counts = sim.requests("mailchimp")["counts"]
    assert (counts["POST /3.0/batches"], counts["GET /3.0/batches"]) == (2, 1)
    listed = sim.http.get(f"{sim.mc_url}/batches", auth=sim.mc_auth, timeout=10).json()
    assert [b["total_operations"] for b in listed["batches"]] == [1, 2]
    assert batch.id == listed["batches"][1]["id"]


def test_direct_upsert_reports_refusals_like_a_batch_result(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_mailchimp([{"email_address": "gone@northwind-mail.com", "status": "unsubscribed"}])
    api = client(sim, tmp_path)
    result = api.upsert_member(
        MemberOperation(
            "7",
            subscriber_hash("gone@northwind-mail.com"),
            {"email_address": "gone@northwind-mail.com", "status": "subscribed"},
        )
    )
    assert (result.operation_id, result.status_code) == ("7", 400)
    assert classify(result.status_code, result.body).outcome is Outcome.RETRY_PENDING


def _archive(*files: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        directory = tarfile.TarInfo("./")
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_archive_parsing_tolerates_the_directory_and_empty_files() -> None:
    data = _archive(
        (
            "./a.json",
            b'[{"status_code": 200, "operation_id": "1", "response": "{\\"id\\": \\"x\\"}"}]',
        ),
        ("./b.json", b""),
        ("./c.json", b'[{"status_code": 204, "operation_id": "2", "response": ""}]'),
    )
    results = parse_archive(io.BytesIO(data))
    assert [(r.operation_id, r.status_code, r.body) for r in results] == [
        ("1", 200, {"id": "x"}),
        ("2", 204, None),
    ]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95], ids=["third", "half", "tail"])
def test_a_truncated_archive_is_refused_whole(cut: float) -> None:
    payload = (
        b"["
        + b",".join(
            b'{"status_code": 200, "operation_id": "%d", "response": "{}"}' % i for i in range(300)
        )
        + b"]"
    )
    data = _archive(("./a.json", payload))
    with pytest.raises(ArchiveError):
        parse_archive(io.BytesIO(data[: int(len(data) * cut)]))


CLASSIFICATION = {
    "success": (200, {"id": "x"}, Outcome.SUCCEEDED),
    "compliance": (
        400,
        {"title": "Member In Compliance State", "detail": "x"},
        Outcome.RETRY_PENDING,
    ),
    "compliance-lookalike": (
        400,
        {"title": "Member In Compliance State Review", "detail": ""},
        Outcome.FAILED,
    ),
    "fake": (
        400,
        {"title": "Invalid Resource", "detail": "a@b.c looks fake or invalid, please"},
        Outcome.BLOCKED,
    ),
    "invalid-address": (
        400,
        {"title": "Invalid Resource", "detail": "Please provide a valid email address."},
        Outcome.BLOCKED,
    ),
    "forgotten": (400, {"title": "Forgotten Email Not Subscribed", "detail": "x"}, Outcome.BLOCKED),
    "too-many-signups": (
        400,
        {"title": "Invalid Resource", "detail": "x has signed up to a lot of lists very recently"},
        Outcome.RETRY_LATER,
    ),
    "merge-fields": (
        400,
        {
            "title": "Invalid Resource",
            "detail": "Your merge fields were invalid.",
            "errors": [{"field": "LTV", "message": "Please enter a number"}],
        },
        Outcome.FAILED,
    ),
    "server": (503, None, Outcome.RETRY_LATER),
    "rate": (429, {"title": "Too Many Requests"}, Outcome.RETRY_LATER),
    "not-found": (404, {"title": "Resource Not Found"}, Outcome.FAILED),
}


@pytest.mark.parametrize(
    ("status", "body", "outcome"), CLASSIFICATION.values(), ids=CLASSIFICATION.keys()
)
def test_batch_results_are_classified_exactly(status: int, body: object, outcome: Outcome) -> None:
    assert classify(status, body).outcome is outcome
