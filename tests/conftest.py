"""Settings for the whole test suite.

- Every test runs in the sealed AWS environment of `support.environment.seal` (fake
  credentials, no profile or config files, AWS_ENDPOINT_URL at a closed local port), so a
  boto3 client created by mistake in a unit test fails at once instead of reaching for
  real AWS. Integration tests get the emulator instead (``aws_env`` in
  support/fixtures.py overrides these).
- The fixtures of tests/support (the emulator's, the organisation's, fault injection, the
  function's log) are plugins, so any test folder can use them.
- egress-guard's own configuration variables (DENYLIST, MODE, ...: support/environment.py)
  from the caller's shell are cleared, so tests see the documented defaults.
- Hypothesis: no per-example deadline (2-core CI machines running xdist workers and moto
  make timings noisy); ``HYPOTHESIS_PROFILE=thorough`` runs 10x more examples.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from support import environment

pytest_plugins = ["support.fixtures", "support.fault_fixtures", "support.org", "support.logs"]

settings.register_profile(
    "default", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _package_log_levels() -> Iterator[None]:
    """The package's logger levels as they were: a CLI run sets them (`--log-level`, WARNING
    by default), and the handler's INFO decision lines must not vanish in a later test of
    the same worker."""
    before = {
        name: found.level
        for name, found in logging.root.manager.loggerDict.items()
        if isinstance(found, logging.Logger) and name.startswith("egress-guard")
    }
    yield
    for name, found in list(logging.root.manager.loggerDict.items()):
        if isinstance(found, logging.Logger) and name.startswith("egress-guard"):
            found.setLevel(before.get(name, logging.NOTSET))


@pytest.fixture(autouse=True)
def _sealed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    environment.seal(monkeypatch)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches the emulator is `integration`, whatever its folder: `make
    fast` leaves them out (they start moto's server and cost ~0.3 s each)."""
    for item in items:
        if "moto_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
