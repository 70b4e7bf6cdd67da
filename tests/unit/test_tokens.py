"""Bearer tokens: HS256 with a secret, RS256 verified with a public key; exp, iat and nbf on the given time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sessions_gql.auth.tokens import InvalidToken, bearer_token, decode_token, issue_token
from sessions_gql.config import Settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
USER = uuid.UUID("01a1fd22-6162-7e37-8c63-0256d19f472f")


def test_hs256_round_trip_and_expiry_on_the_service_clock() -> None:
    settings = Settings(jwt_secret="x" * 40, token_ttl_minutes=60)
    token = issue_token(settings, user_id=USER, role="MEMBER", now=NOW)
    assert decode_token(settings, token, now=NOW + timedelta(minutes=59)) == USER
    with pytest.raises(InvalidToken, match="expired"):
        decode_token(settings, token, now=NOW + timedelta(minutes=60))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token(Settings(jwt_secret="a" * 40), user_id=USER, role="MEMBER", now=NOW)
    with pytest.raises(InvalidToken, match=r"^the signature does not verify$"):
        decode_token(Settings(jwt_secret="b" * 40), token, now=NOW)


@pytest.mark.parametrize(("token", "reason"), [
    ("not-a-jwt", "the token is malformed"),
    ("a.b.c", "the token is malformed"),
    (jwt.encode({"sub": str(USER), "iat": 1, "exp": 2**40, "iss": "sessions-gql", "aud": "elsewhere"}, "s" * 40,
                algorithm="HS256"), "the audience is not this API"),
    (jwt.encode({"sub": str(USER), "iat": 1, "exp": 2**40, "iss": "someone", "aud": "sessions-gql"}, "s" * 40,
                algorithm="HS256"), "the issuer is not accepted"),
    (jwt.encode({"sub": str(USER), "iss": "sessions-gql", "aud": "sessions-gql"}, "s" * 40, algorithm="HS256"),
     "a required claim (sub, exp, iat) is missing"),
    (jwt.encode({"sub": "1", "iat": 1, "exp": 2**40, "iss": "sessions-gql", "aud": "sessions-gql"}, "s" * 40,
                algorithm="HS256"), "the token is not valid"),
])
def test_a_refused_token_gets_a_fixed_reason_not_pyjwts_text(token: str, reason: str) -> None:
    """PyJWT's messages ("Invalid header padding", "Not enough segments"...) describe its internals."""
    with pytest.raises(InvalidToken) as refused:
        decode_token(Settings(jwt_secret="s" * 40), token, now=NOW)
    assert str(refused.value) == reason


def test_rs256_tokens_verify_with_the_configured_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = Settings(jwt_public_key=public, jwt_private_key=private)
    token = issue_token(settings, user_id=USER, role="PROVIDER", now=NOW)
    assert decode_token(Settings(jwt_public_key=public), token, now=NOW) == USER
    hs_token = issue_token(Settings(jwt_secret="c" * 40), user_id=USER, role="PROVIDER", now=NOW)
    with pytest.raises(InvalidToken):
        decode_token(Settings(jwt_public_key=public), hs_token, now=NOW)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "token"])
def test_malformed_authorization_headers_are_refused(header: str) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)


def test_production_refuses_a_missing_secret_and_the_test_clock() -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(env="production")
    with pytest.raises(ValueError, match="TEST_CLOCK is refused"):
        Settings(env="production", jwt_secret="s" * 40, test_clock=True)


def test_iat_and_nbf_in_the_future_are_refused_beyond_a_minute_of_skew() -> None:
    settings = Settings(jwt_secret="x" * 40, token_ttl_minutes=60)
    ahead = issue_token(settings, user_id=USER, role="MEMBER", now=NOW + timedelta(seconds=61))
    with pytest.raises(InvalidToken, match="issued in the future"):
        decode_token(settings, ahead, now=NOW)
    skewed = issue_token(settings, user_id=USER, role="MEMBER", now=NOW + timedelta(seconds=60))
    assert decode_token(settings, skewed, now=NOW) == USER
    claims = {"sub": str(USER), "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": int(NOW.timestamp()),
              "exp": int((NOW + timedelta(hours=1)).timestamp()), "nbf": int((NOW + timedelta(seconds=61)).timestamp())}
    with pytest.raises(InvalidToken, match="not valid yet"):
        decode_token(settings, jwt.encode(claims, settings.signing_secret, algorithm="HS256"), now=NOW)
    assert decode_token(settings, jwt.encode(claims, settings.signing_secret, algorithm="HS256"),
                        now=NOW + timedelta(seconds=1)) == USER
