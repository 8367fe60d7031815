"""Where the denylist comes from (docs/configuration.md): DENYLIST, DENYLIST_FILE,
DENYLIST_PARAMETER (SSM, cached across warm invocations) or the packaged default.

The compiled denylist is cached by its text, so a warm container compiles it once and a
changed SSM parameter takes effect within PARAMETER_MAX_AGE seconds.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from aws_lambda_powertools import Logger

from egress_guard.aws import Clients
from egress_guard.denylist import DenylistError, parse_denylist
from egress_guard.judge import Judge
from egress_guard.settings import Settings
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)
PARAMETER_MAX_AGE = 300
DEFAULT_NAME = "default-denylist.json"


def load_judge(settings: Settings, clients: Clients) -> Judge:
    """The compiled denylist in force; DenylistError names the source and the problem."""
    text, source = denylist_text(settings, clients)
    return _compile(text, source)


def denylist_text(settings: Settings, clients: Clients) -> tuple[str, str]:
    if settings.denylist_inline is not None:
        return settings.denylist_inline, "DENYLIST"
    if settings.denylist_file is not None:
        return _read_file(settings.denylist_file), f"DENYLIST_FILE {settings.denylist_file}"
    if settings.denylist_parameter is not None:
        name = settings.denylist_parameter
        return _read_parameter(name, clients), f"DENYLIST_PARAMETER {name}"
    return packaged_default(), "packaged default"


def packaged_default() -> str:
    return resources.files("egress_guard").joinpath(DEFAULT_NAME).read_text(encoding="utf-8")


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DenylistError([f"cannot read {path}: {exc}"], "DENYLIST_FILE") from None


def _read_parameter(name: str, clients: Clients) -> str:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        # Decrypted: a SecureString read without it is ciphertext, and SSM ignores the flag
        # for a String. The key's kms:Decrypt is the template's DenylistKmsKeyArn grant.
        value = clients.parameters().get(name, max_age=PARAMETER_MAX_AGE, decrypt=True)
    except GetParameterError as exc:
        problem = f"cannot read SSM parameter {name}: {exc}"
        raise DenylistError([problem], "DENYLIST_PARAMETER") from None
    return str(value)


@lru_cache(maxsize=4)
def _compile(text: str, source: str) -> Judge:
    try:
        denylist = parse_denylist(text, source)
    except DenylistError as exc:
        logger.error("denylist rejected", source=source, problems=exc.problems)
        raise
    for warning in denylist.warnings:
        logger.warning("denylist canonicalised", source=source, detail=warning)
    logger.info(
        "denylist loaded", source=source, deny=len(denylist.deny), allow=len(denylist.allow)
    )
    return Judge(denylist)
