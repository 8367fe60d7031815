"""Notices and the result log line under SNS's and CloudWatch's size limits (docs/invariants.md:
"Notices and log lines are split ... rather than dropped; every revoked rule is named in
some delivered message").

Pure: `split_result` and `notices` are judged on the documents they produce. The
emulator tests (tests/integration/test_other_sources.py, tests/safety/test_logs.py) show
the same through moto's SNS and the function's own log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.results import result_of

from egress_guard.notice import result_in_notice
from egress_guard.restore import rules_to_restore
from egress_guard.result import Finding, Result
from egress_guard.rules import Rule
from egress_guard.sinks.log_line import LOG_LINE_BUDGET
from egress_guard.sinks.notice_subject import part_subject
from egress_guard.sinks.sns_notice import NOTICE_BODY_BUDGET, notices
from egress_guard.sinks.split import log_text, notice_text, split_result, utf8_size

SNS_LIMIT = 262_144
BUDGETS = [(NOTICE_BODY_BUDGET, notice_text), (LOG_LINE_BUDGET, log_text)]
# EC2's bounds on one rule: a description of at most 255 characters (a-z A-Z 0-9 spaces
# and ._-:/()#,@[]+=&;{}!$*), at most 50 tags, keys of 128 and values of 256 Unicode
# characters. An astral character is the costliest: 4 bytes in UTF-8, 12 as a JSON escape.
LONGEST_DESCRIPTION = ("relay {a-z} #1: (A/Z) [0-9] @ops, +=&;!$* ._" * 6)[:255]
COSTLIEST_TAGS = tuple((f"{n:02d}" + "\U0001f512" * 126, "\U0001f6a8" * 256) for n in range(50))


def rule(number: int, *, tags: tuple[tuple[str, str], ...] = ()) -> Rule:
    return Rule(
        rule_id=f"sgr-{number:017x}",
        group_id=f"sg-{number // 50:017x}",
        is_egress=True,
        ip_protocol="tcp",
        from_port=1000 + number % 50,
        to_port=1000 + number % 50,
        cidr_ipv4="0.0.0.0/0",
        description=LONGEST_DESCRIPTION,
        tags=tags,
    )


def result_with(rules: list[Rule], *, errors: list[str] | None = None) -> Result:
    findings = [Finding(item, "tcp-to-internet", "revoked") for item in rules]
    return result_of(*findings, errors=list(errors or []))


def items(parts: list[dict[str, Any]], key: str) -> list[Any]:
    return [item for part in parts for item in part.get(key, [])]


def test_a_result_that_fits_is_returned_whole_and_unchanged() -> None:
    document = result_with([rule(n) for n in range(10)]).to_dict()

    for budget, dumps in BUDGETS:
        assert split_result(document, budget, dumps) == [document]


@pytest.mark.parametrize(("budget", "dumps"), BUDGETS)
def test_every_part_fits_and_together_they_hold_every_item_once(budget: int, dumps: Any) -> None:
    document = result_with([rule(n) for n in range(1500)]).to_dict()

    parts = split_result(document, budget, dumps)

    assert len(parts) > 1
    assert all(utf8_size(dumps(part)) <= budget for part in parts)
    assert [(p["Part"], p["Parts"]) for p in parts] == [
        (k, len(parts)) for k in range(1, 1 + len(parts))
    ]
    for key in ("RevokedSecurityGroupRules", "Findings"):
        assert items(parts, key) == document[key]
    context = {k: v for k, v in document.items() if not isinstance(v, list)}
    assert all(part.items() >= context.items() for part in parts)


def test_each_part_can_be_restored_from_by_itself() -> None:
    """A revoked rule travels with its finding, which holds the tags restore re-applies."""
    tagged = [rule(n, tags=(("owner", f"team-{n}"),)) for n in range(1500)]
    document = result_with(tagged).to_dict()

    for part in split_result(document, NOTICE_BODY_BUDGET, notice_text):
        for restored in rules_to_restore(json.loads(notice_text(part))):
            assert restored.tags == (("owner", f"team-{int(restored.rule_id[4:], 16)}"),)


def test_the_largest_rule_ec2_allows_fits_in_one_part_with_room_to_spare() -> None:
    """EC2 bounds one rule (255-character description, 50 tags of 128 + 256 characters),
    so one finding with its revoked rule is never larger than a part can hold."""
    document = result_with([rule(0, tags=COSTLIEST_TAGS)]).to_dict()

    for budget, dumps in BUDGETS:
        assert utf8_size(dumps(document)) < budget  # one item, the worst case: still whole
    crowd = result_with([rule(n, tags=COSTLIEST_TAGS) for n in range(6)]).to_dict()
    for budget, dumps in BUDGETS:
        parts = split_result(crowd, budget, dumps)
        assert all(utf8_size(dumps(part)) <= budget for part in parts)
        assert items(parts, "Findings") == crowd["Findings"]


def test_a_free_text_error_longer_than_a_part_is_shortened_to_fit() -> None:
    huge = "InternalError: " + "x" * 600_000
    document = result_with([rule(n) for n in range(10)], errors=[huge, "second"]).to_dict()

    for budget, dumps in BUDGETS:
        parts = split_result(document, budget, dumps)
        assert all(utf8_size(dumps(part)) <= budget for part in parts)
        [shortened, second] = items(parts, "Errors")
        assert shortened.startswith("InternalError: xxx")
        assert shortened.endswith("(600015 characters, shortened)")
        assert second == "second"
        assert items(parts, "Findings") == document["Findings"]


def test_notices_of_a_large_result_are_numbered_and_each_under_snss_limit() -> None:
    result = result_with([rule(n) for n in range(1000)])

    sent = notices(result)

    assert len(sent) > 1
    for number, notice in enumerate(sent, start=1):
        where = "123456789012/us-east-1"
        numbering = f"(part {number} of {len(sent)})"
        assert notice.subject == (
            f"egress-guard revoked 1000 egress rules in 20 groups in {where} {numbering}"
        )
        assert (notice.attributes["part"], notice.attributes["parts"]) == (
            str(number),
            str(len(sent)),
        )
        assert notice.attributes["account"] == "123456789012"
        size = utf8_size(notice.body) + utf8_size(notice.subject)
        size += sum(utf8_size(k + "String" + v) for k, v in notice.attributes.items())
        assert size < SNS_LIMIT
        # The group attribute names the groups of this part only, for subscription filters.
        body = result_in_notice(notice.body)
        assert (
            notice.attributes["group"]
            == ",".join(sorted({f["GroupId"] for f in body["Findings"]}))[:256]
        )


def test_a_small_result_is_one_notice_carrying_the_whole_result_after_its_text() -> None:
    result = result_with([rule(n) for n in range(3)])

    [notice] = notices(result)

    assert notice.body.endswith("\n" + json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    assert result_in_notice(notice.body) == result.to_dict()
    assert notice.subject == (
        "egress-guard revoked 3 egress rules on sg-00000000000000000 in 123456789012/us-east-1"
    )
    assert notice.attributes == {
        "account": "123456789012",
        "region": "us-east-1",
        "group": "sg-00000000000000000",
        "mode": "enforce",
    }


def test_a_part_subject_keeps_its_numbering_within_snss_100_characters() -> None:
    subject = (
        "egress-guard revoked 1000 egress rules, FAILED on 12 in 123456789012/ap-southeast-2 x"
    )

    numbered = part_subject(subject * 2, 12, 13)

    assert len(numbered) == 100
    assert numbered.endswith(" (part 12 of 13)")
