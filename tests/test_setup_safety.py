"""A safe set-up: real default properties, no duplicate fields, typos stopped before anything.

Issue 14 points 1, 2 and 4 (and issue 11 point 8): the starter config maps properties HubSpot
really has; `check --fix` never creates a field that duplicates an existing name or label; a run
whose mapping names a field that does not exist stops before fetching or writing (exit 2), with
the key path and the nearest existing names; hints follow the error's structure; `errors` groups
identical reasons; a wrong audience id and a refused token say so, each in its own check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.sandbox.hubspot.props import DEFAULT_PROPERTIES
from syncer.sandbox.world import FIELD_MAPPINGS, MERGE_FIELDS
from tests.support.people import InitialWorld, email, iso_ago
from tests.support.sandbox import SandboxDriver

PROPERTIES = "GET /crm/v3/properties/contacts"


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def with_fields(
    sim: SandboxDriver, tmp_path: Path, fields: list[dict[str, Any]], **more: Any
) -> Path:
    return sim.write_config(tmp_path, fields=fields, **more)


def hubspot_labels(sim: SandboxDriver) -> dict[str, str]:
    listed = sim.http.get(
        f"{sim.hs_url}/crm/v3/properties/contacts", headers=sim.hs_headers, timeout=10
    ).json()["results"]
    return {item["name"]: item["label"] for item in listed}


def calls(sim: SandboxDriver, side: str, key: str) -> int:
    return int(sim.requests(side)["counts"].get(key, 0))


def test_the_starter_config_maps_hubspot_default_properties(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    target = tmp_path / "syncer.yaml"
    assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == 0
    document = yaml.safe_load(target.read_text())
    defaults = {prop.name for prop in DEFAULT_PROPERTIES}
    mapped = [mapping["hubspot"] for mapping in document["fields"]]
    assert "notes_last_contacted" in mapped
    assert set(mapped) <= defaults, set(mapped) - defaults

    info = sim.sandbox.info
    document["hubspot"].update(token=info.hubspot_token, base_url=info.hubspot_url)
    document["mailchimp"].update(
        api_key=info.mailchimp_api_key, base_url=info.mailchimp_url, list_id=info.list_id
    )
    target.write_text(yaml.safe_dump(document))
    sim.seed_hubspot([], properties=[])
    sim.seed_mailchimp([])
    fixed = invoke(target, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output
    labels = list(hubspot_labels(sim).values())
    assert len(labels) == len(set(labels)), "check --fix created a second property of a label"
    assert invoke(target, "check").exit_code == 0


def test_fix_suggests_the_existing_property_instead_of_a_second_last_contacted(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    fields = [{"hubspot": "last_contacted", "mailchimp": "LASTCONT", "direction": "to_mailchimp"}]
    config = with_fields(sim, tmp_path, fields)
    sim.seed_hubspot([])
    sim.seed_mailchimp([])
    checked = invoke(config, "check", "--fix")
    assert checked.exit_code == 2
    assert (
        "[PROBLEM] HubSpot property last_contacted: missing (fields[0].hubspot); "
        "notes_last_contacted already has this name or label" in checked.stdout
    )
    assert "last_contacted" not in hubspot_labels(sim)


def test_a_mapping_typo_stops_the_run_before_any_read_or_write(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(InitialWorld(shared=10, hubspot_only=3, mailchimp_only=3, conflicts=2))
    fields = [dict(mapping) for mapping in FIELD_MAPPINGS]
    fields[1]["hubspot"] = "lastnme"
    config = with_fields(sim, tmp_path, fields)
    for args in (("run",), ("run", "--dry-run"), ("run", "--json")):
        ran = invoke(config, *args)
        assert ran.exit_code == 2, ran.output
        assert (
            "fields[1].hubspot: HubSpot property lastnme does not exist (did you mean lastname?)"
            in ran.stderr
        )
    assert calls(sim, "hubspot", "POST /crm/v3/objects/contacts/search") == 0
    assert sim.writes("hubspot") == 0
    assert sim.writes("mailchimp") == 0
    checked = invoke(config, "check")
    assert "did you mean lastname?" in checked.stdout
    status = json.loads(invoke(config, "status", "--json").stdout)
    assert status["runs"][0]["outcome"] == "failed"


def test_a_subscription_property_typo_unsubscribes_nobody(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Issue 11.8: `newsleter` read as "nobody wants mail" must never become unsubscribes."""
    sim.seed_world(InitialWorld(shared=30, hubspot_only=0, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    document = yaml.safe_load(config.read_text())
    document["subscription"] = {"hubspot_property": "newsleter"}
    config.write_text(yaml.safe_dump(document))
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    ran = invoke(config, "run", "--full")
    assert ran.exit_code == 2
    assert "subscription.hubspot_property: HubSpot property newsleter does not exist" in ran.stderr
    assert "did you mean newsletter?" in ran.stderr
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes
    statuses = {m["status"] for m in sim.mailchimp_by_email().values()}
    assert statuses == {"subscribed"}


def test_a_merge_tag_typo_names_the_tag_mailchimp_has(sim: SandboxDriver, tmp_path: Path) -> None:
    fields = [{"hubspot": "firstname", "mailchimp": "FNAM"}]
    config = with_fields(sim, tmp_path, fields)
    sim.seed_hubspot([])
    sim.seed_mailchimp([])
    ran = invoke(config, "run")
    assert ran.exit_code == 2
    assert (
        "fields[0].mailchimp: Mailchimp merge field FNAM does not exist (did you mean FNAME?)"
        in ran.stderr
    )


def test_the_field_check_is_kept_for_an_hour_and_redone_when_the_mapping_changes(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(InitialWorld(shared=5, hubspot_only=1, mailchimp_only=1, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    assert calls(sim, "hubspot", PROPERTIES) == 1
    assert invoke(config, "run").exit_code == 0
    assert calls(sim, "hubspot", PROPERTIES) == 1, "checked again within the hour"
    document = yaml.safe_load(config.read_text())
    document["fields"] = document["fields"][:2]
    config.write_text(yaml.safe_dump(document))
    assert invoke(config, "run").exit_code == 0
    assert calls(sim, "hubspot", PROPERTIES) == 2


def _refused_stage(sim: SandboxDriver, tmp_path: Path, people: int) -> Path:
    """People whose Mailchimp stage HubSpot refuses: "domain" is no lifecycle stage."""
    addresses = [email("stage", i) for i in range(people)]
    sim.seed_hubspot(
        [
            {
                "properties": {"email": address, "newsletter": "true"},
                "timestamps": {"newsletter": iso_ago(5)},
            }
            for address in addresses
        ]
    )
    sim.seed_mailchimp(
        [
            {
                "email_address": address,
                "status": "subscribed",
                "merge_fields": {"LCSTAGE": "domain"},
                "last_changed": iso_ago(2),
            }
            for address in addresses
        ]
    )
    fields = [{"hubspot": "lifecyclestage", "mailchimp": "LCSTAGE", "direction": "to_hubspot"}]
    return with_fields(sim, tmp_path, fields)


def test_hints_follow_the_errors_structure_not_its_words(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """HubSpot refusing the value "domain" is a HubSpot value problem, whatever the words say
    (the old hints matched "domain" and blamed the Mailchimp address)."""
    config = _refused_stage(sim, tmp_path, 1)
    assert invoke(config, "run").exit_code == 1
    found = json.loads(invoke(config, "errors", "--json").stdout)
    (group,) = found["groups"]
    assert group["cause"] == "hubspot:invalid_value"
    assert group["hint"].startswith("HubSpot refused the value")
    assert "domain was not one of the allowed options" in group["reason"]
    assert "isValid" not in group["reason"], "raw JSON in the reason"


def test_errors_group_identical_reasons_and_say_how_many_are_left_out(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = _refused_stage(sim, tmp_path, 5)
    assert invoke(config, "run").exit_code == 1
    listed = invoke(config, "errors", "--limit", "2")
    assert listed.exit_code == 0
    assert listed.stdout.startswith("5 people failed\n")
    assert listed.stdout.count("@") == 2
    assert "... and 3 more" in listed.stdout
    assert "3 more not listed (`syncer errors --limit 0` lists all)" in listed.stderr
    everyone = json.loads(invoke(config, "errors", "--json", "--limit", "0").stdout)
    assert (everyone["total"], everyone["listed"], everyone["unlisted"]) == (5, 5, 0)
    assert len(everyone["groups"]) == 1


def test_a_wrong_audience_id_names_the_audiences_the_key_can_see(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    document = yaml.safe_load(sim.write_config(tmp_path).read_text())
    document["mailchimp"]["list_id"] = "a1b2c3d4e5"
    config = tmp_path / "wrong.yaml"
    config.write_text(yaml.safe_dump(document))
    ran = invoke(config, "run")
    assert ran.exit_code == 2, ran.output
    assert "mailchimp.list_id: a1b2c3d4e5 is not one of this API key's audiences" in ran.stderr
    assert f"'Sandbox audience' (id {sim.list_id})" in ran.stderr
    assert "status page" not in ran.stderr
    offline = invoke(config, "check", "--offline")
    assert offline.exit_code == 2
    assert "[PROBLEM] mailchimp.list_id: a1b2c3d4e5 is the template's example value" in (
        offline.stdout
    )


def test_check_reports_every_check_even_after_a_refused_token(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    document = yaml.safe_load(sim.write_config(tmp_path).read_text())
    document["hubspot"]["token"] = "pat-na1-wrong"
    document["mailchimp"]["list_id"] = "0000000000"
    config = tmp_path / "both.yaml"
    config.write_text(yaml.safe_dump(document))
    checked = invoke(config, "check")
    assert checked.exit_code == 4
    assert "[PROBLEM] HubSpot token: hubspot:" in checked.stdout
    assert "[PROBLEM] Mailchimp audience: mailchimp.list_id: 0000000000 is not one of" in (
        checked.stdout
    )
    assert "[ok] cache:" in checked.stdout
    assert "error: 2 problems in 4 checks" in checked.stderr
    assert "pat-na1-wrong" not in checked.output


def test_check_offline_flags_a_cache_path_that_cannot_be_written(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("")
    config = sim.write_config(tmp_path, state_path=str(tmp_path / "afile" / "syncer.db"))
    checked = invoke(config, "check", "--offline")
    assert checked.exit_code == 2
    assert f"[PROBLEM] cache: state_path: {tmp_path}/afile/syncer.db cannot be written" in (
        checked.stdout
    )
    assert "is not a folder" in checked.stdout


def test_the_sandbox_merge_fields_cover_the_world_mappings() -> None:
    tags = {field["tag"] for field in MERGE_FIELDS} | {"FNAME", "LNAME"}
    assert {mapping["mailchimp"] for mapping in FIELD_MAPPINGS} <= tags


def test_a_closed_port_names_the_host_and_the_config_key(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Issue 14.4: not "check the service's status page", but where the address comes from."""
    document = yaml.safe_load(sim.write_config(tmp_path).read_text())
    document["hubspot"]["base_url"] = "http://127.0.0.1:9"
    document["http"] = {"max_tries": 1, "max_time": 2, "connect_timeout": 1}
    config = tmp_path / "closed.yaml"
    config.write_text(yaml.safe_dump(document))
    ran = invoke(config, "run")
    assert ran.exit_code == 4, ran.output
    assert "hubspot: could not connect to 127.0.0.1:9" in ran.stderr
    assert "Check hubspot.base_url and the network" in ran.stderr
    assert "status page" not in ran.stderr
    checked = invoke(config, "check")
    assert "[PROBLEM] HubSpot token: hubspot: could not connect to 127.0.0.1:9" in checked.stdout
    assert "[ok] Mailchimp audience" in checked.stdout, "the other API is still checked"
