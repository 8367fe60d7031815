"""docs/event-sources.md: what each sample event of events/ targets, one row a sample.

A row names only the fields its source promises (the group or sweep, the place, the source,
the id); the per-source files test the variations and refusals.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.event_samples import GROUP, RULE, promised, sample

from egress_guard.events import parse_event
from egress_guard.targets import GroupTarget

ACCOUNT = "123456789012"
REGION = "us-east-1"
THE_GROUP = (GroupTarget(GROUP),)
SWEEP = {"sweep": True, "groups": ()}
PLACE = {"account": ACCOUNT, "region": REGION}

SAMPLES: dict[str, dict[str, Any]] = {
    "cloudtrail-authorize-egress.json": {
        "groups": (GroupTarget(GROUP, rule_ids=(RULE,)),),
        **PLACE,
        "event_id": "5f0c3a2e-8d1b-4c7e-9a64-2b1d3e4f5a61",
        "source": "cloudtrail:AuthorizeSecurityGroupEgress",
    },
    # A raw record (no EventBridge envelope): the place and id come from the record.
    "cloudtrail-authorize-egress-legacy-2020.json": {
        **PLACE,
        "event_id": "1a593035-e072-49c4-8c72-4ff35e195330",
    },
    "cloudtrail-create-vpc.json": {
        "new_vpc": "vpc-0a1b2c3d4e5f67890",
        "groups": (),
        "is_noop": False,
        "source": "cloudtrail:CreateVpc",
        **PLACE,
    },
    # The place is the configuration item's.
    "config-configuration-item-change.json": {
        "groups": THE_GROUP,
        **PLACE,
        "source": "config:ConfigurationItemChange",
    },
    "config-compliance-change-noncompliant.json": {
        "groups": THE_GROUP,
        "source": "config:ComplianceChange",
    },
    "config-rule-invocation-change.json": {
        "groups": THE_GROUP,
        "source": "config-rule:ConfigurationItemChangeNotification",
    },
    # The group is the one of the item's summary.
    "config-rule-invocation-oversized.json": {"groups": THE_GROUP},
    "config-rule-invocation-scheduled.json": {**SWEEP, **PLACE},
    # The place is the finding's.
    "securityhub-finding-imported.json": {
        "groups": THE_GROUP,
        **PLACE,
        "source": "securityhub:Imported",
    },
    # The group of the chosen finding.
    "securityhub-custom-action.json": {
        "groups": THE_GROUP,
        "source": "securityhub:CustomAction",
    },
    # The envelope's place: every group of it.
    "scheduled-event.json": {
        **SWEEP,
        **PLACE,
        "source": "schedule",
        "event_id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    },
    # Its id is the run's and the place's.
    "sweep-place.json": {
        "source": "org-sweep",
        "event_id": "0b7e8d9c-5f4a-4e21-9a63-2d1c0f9e8b7a/123456789012/us-east-1",
    },
}


@pytest.mark.parametrize(("name", "expected"), list(SAMPLES.items()), ids=list(SAMPLES))
def test_each_sample_targets_what_its_source_promises(name: str, expected: dict[str, Any]) -> None:
    assert promised(parse_event(sample(name)), expected) == expected
