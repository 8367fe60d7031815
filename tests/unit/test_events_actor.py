"""Who opened it: the actor of a CloudTrail record, for people, never for decisions."""

from __future__ import annotations

from typing import Any

from egress_guard.events._access import Node
from egress_guard.events.actor import Actor, actor_of

ROLE_SESSION = {
    "userIdentity": {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/deployer/alice",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/deployer"}
        },
    },
    "sourceIPAddress": "198.51.100.7",
    "userAgent": "aws-cli/2.15.0",
}


def test_an_assumed_role_names_the_session_and_its_role() -> None:
    actor = actor_of(Node(ROLE_SESSION))
    assert actor is not None
    assert actor.to_dict() == {
        "Arn": "arn:aws:sts::111122223333:assumed-role/deployer/alice",
        "Type": "AssumedRole",
        "SessionIssuer": "arn:aws:iam::111122223333:role/deployer",
        "SourceIPAddress": "198.51.100.7",
        "UserAgent": "aws-cli/2.15.0",
    }


def test_describe_reads_as_a_sentence() -> None:
    actor = actor_of(Node(ROLE_SESSION))
    assert actor is not None
    assert actor.describe() == (
        "arn:aws:sts::111122223333:assumed-role/deployer/alice "
        "(role arn:aws:iam::111122223333:role/deployer) from 198.51.100.7, aws-cli/2.15.0"
    )


def test_an_iam_user_has_no_issuer() -> None:
    record = {"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/bob"}}
    assert actor_of(Node(record)) == Actor(arn="arn:aws:iam::1:user/bob", identity_type="IAMUser")


def test_no_identity_is_no_actor() -> None:
    assert actor_of(Node({})) is None


def test_hostile_shapes_are_ignored_not_fatal() -> None:
    record: dict[str, Any] = {
        "userIdentity": {"arn": 7, "sessionContext": "x"},
        "sourceIPAddress": ["a"],
        "userAgent": "u" * 10_000,
    }
    actor = actor_of(Node(record))
    assert actor is not None
    assert actor.arn is None
    assert actor.user_agent is not None
    assert len(actor.user_agent) == 512
