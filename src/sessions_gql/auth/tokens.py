"""JWT bearer tokens: HS256 with a shared secret, or RS256 verified with a configured public key."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

import jwt

from sessions_gql.config import Settings

CLOCK_SKEW = timedelta(seconds=60)
"""How far ahead of ours an issuer's clock may run: `iat` and `nbf` up to this much in the future are accepted."""


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired."""


def issue_token(settings: Settings, *, user_id: uuid.UUID, role: str, now: datetime) -> str:
    claims = {
        "sub": str(user_id),
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.token_ttl_minutes)).timestamp()),
    }
    if settings.jwt_public_key:
        if not settings.jwt_private_key:
            raise RuntimeError("RS256 tokens are issued by the identity provider; no private key configured")
        return jwt.encode(claims, settings.jwt_private_key, algorithm="RS256")
    return jwt.encode(claims, settings.signing_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str, *, now: datetime) -> uuid.UUID:
    """The user id the token speaks for. `now` is real time (`Clock.wall()`), never the test clock's: moving the
    booking world forward must not end anyone's session. `exp` is exact; `iat` and `nbf` allow `CLOCK_SKEW`."""
    key, algorithm = (
        (settings.jwt_public_key, "RS256") if settings.jwt_public_key else (settings.signing_secret, "HS256")
    )
    try:
        claims = _verified(token, key, algorithm, settings.jwt_audience, settings.jwt_issuer)
        at = now.timestamp()
        if int(claims["exp"]) <= at:
            raise InvalidToken("token expired")
        if int(claims["iat"]) > at + CLOCK_SKEW.total_seconds():
            raise InvalidToken("token issued in the future")
        if "nbf" in claims and int(claims["nbf"]) > at + CLOCK_SKEW.total_seconds():
            raise InvalidToken("token not valid yet")
        return uuid.UUID(str(claims["sub"]))
    except InvalidToken:
        raise
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(_reason(exc)) from exc


VERIFIED_CACHED = 4096
"""Tokens whose signature, audience and issuer were verified, kept per process (LRU): a client sends the same
token with every request, and the rate limiter and the authentication both read it. The times are checked on
every use; only verified tokens are kept, so forged ones cannot fill the cache."""
_verified_claims: OrderedDict[tuple[str, str, str, str, str], dict[str, Any]] = OrderedDict()


def _verified(token: str, key: str, algorithm: str, audience: str, issuer: str) -> dict[str, Any]:
    cache_key = (token, key, algorithm, audience, issuer)
    claims = _verified_claims.get(cache_key)
    if claims is not None:
        _verified_claims.move_to_end(cache_key)
        return claims
    claims = jwt.decode(token, key, algorithms=[algorithm], audience=audience, issuer=issuer,
                        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                 "require": ["sub", "exp", "iat"]})
    _verified_claims[cache_key] = claims
    if len(_verified_claims) > VERIFIED_CACHED:
        _verified_claims.popitem(last=False)
    return claims


_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidSignatureError, "the signature does not verify"),
    (jwt.InvalidAlgorithmError, "the signing algorithm is not accepted"),
    (jwt.InvalidAudienceError, "the audience is not this API"),
    (jwt.InvalidIssuerError, "the issuer is not accepted"),
    (jwt.MissingRequiredClaimError, "a required claim (sub, exp, iat) is missing"),
    (jwt.DecodeError, "the token is malformed"),
)


def _reason(exc: Exception) -> str:
    """A fixed reason per kind of failure: PyJWT's own text describes its internals and may quote the token."""
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "the token is not valid")


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("expected 'Authorization: Bearer <token>'")
    return value.strip()
