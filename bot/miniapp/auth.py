"""Who is asking: Telegram's signed `initData`, checked exactly as Telegram documents it
(core.telegram.org/bots/webapps, "Validating data received via the Mini App").

    secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash       = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))

where `data_check_string` is every received field except `hash`, as `key=value`, sorted by
key and joined by "\\n". The hash is compared in constant time, and `auth_date` may be at most
a day old on the one clock (bot/core/clock.py). The user id inside is the only identity the
Mini App trusts; `start_param` (a `startapp` link's payload) only names a couple, whose
membership the views check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.core import clock

MAX_AGE = timedelta(days=1)
# Telegram's clock and ours may differ a little; a date further ahead than this is no date.
SKEW = timedelta(minutes=5)
MAX_LENGTH = 8192  # initData is a few hundred bytes; anything far longer is not Telegram's


class InitDataError(ValueError):
    """initData that proves nothing; `reason` is what the API answers (401)."""

    reason = "invalid"


class MissingInitData(InitDataError):
    reason = "missing"


class MalformedInitData(InitDataError):
    reason = "malformed"


class ForgedInitData(InitDataError):
    reason = "forged"


class ExpiredInitData(InitDataError):
    reason = "expired"


@dataclass(frozen=True)
class Visitor:
    """The Telegram user the initData was signed for."""

    user_id: int
    first_name: str
    language_code: str | None
    start_param: str | None
    auth_date: datetime


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _hash(token: str, fields: dict[str, str]) -> str:
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hmac.new(_secret(token), check.encode(), hashlib.sha256).hexdigest()


def _fields(init_data: str) -> dict[str, str]:
    """The query string's fields, each exactly once (a repeated field is no initData)."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise MalformedInitData("not a query string") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise MalformedInitData("a field appears twice")
    return fields


def validate(init_data: str | None, token: str, *, max_age: timedelta = MAX_AGE) -> Visitor:
    """The visitor `init_data` was signed for by Telegram with `token`'s key; raises a
    subclass of InitDataError (missing, malformed, forged, expired) otherwise."""
    if not init_data:
        raise MissingInitData("no initData")
    if len(init_data) > MAX_LENGTH:
        raise MalformedInitData("initData too long")
    fields = _fields(init_data)
    given = fields.pop("hash", "")
    expected = _hash(token, fields)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ForgedInitData("the hash does not match")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise MalformedInitData("no auth_date or user") from exc
    now = clock.now()
    if auth_date < now - max_age:
        raise ExpiredInitData("auth_date is more than a day old")
    if auth_date > now + SKEW:
        raise ExpiredInitData("auth_date lies in the future")
    code = user.get("language_code")
    return Visitor(
        user_id=user_id,
        first_name=str(user.get("first_name") or "")[:128],
        language_code=str(code)[:16] if code else None,
        start_param=fields.get("start_param") or None,
        auth_date=auth_date,
    )


def sign_init_data(
    token: str,
    user: dict[str, Any],
    start_param: str | None = None,
    auth_date: int | datetime | None = None,
    **extra: str,
) -> str:
    """initData as Telegram would sign it for `user` (tests, and the playground's stand-in
    for Telegram's app). `auth_date`: a Unix time or a moment; now on the one clock if None."""
    if auth_date is None:
        auth_date = clock.now()
    if isinstance(auth_date, datetime):
        auth_date = int(auth_date.timestamp())
    fields = {
        "auth_date": str(auth_date),
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        **extra,
    }
    if start_param:
        fields["start_param"] = start_param
    fields["hash"] = _hash(token, fields)
    return urlencode(fields)


def from_header(value: str | None) -> str | None:
    """The initData of an `Authorization: tma <initData>` header, if it is one."""
    if not value:
        return None
    scheme, _, data = value.strip().partition(" ")
    return data.strip() if scheme.lower() == "tma" and data.strip() else None
