"""Secrets in error messages are masked before any report shows them."""

from __future__ import annotations

import pytest

from slogate.slo.redact import MASK, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("x-api-key: sk-test-SECRET123", "SECRET123"),
        ("X-Api-Key=abc123def", "abc123def"),
        ("Authorization: Bearer eyJabc.def-ghi", "eyJabc.def-ghi"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ("Proxy-Authorization: Digest username=\"u\", response=\"abc123\"", "abc123"),
        ('headers={"Authorization": "Bearer tok123", "x-api-key":"k-456"}', "tok123"),
        ('headers={"Authorization": "Bearer tok123", "x-api-key":"k-456"}', "k-456"),
        ("request failed with bearer abcdef123456 attached", "abcdef123456"),
        ("key sk-ant-api03-AbCdEf123456_789 was refused", "AbCdEf123456"),
        ("sk-proj-0123456789abcdef", "0123456789abcdef"),
        ("GET https://user:hunter2@api.example.com/v1 failed", "hunter2"),
        ("GET /v1/models?api_key=QWERTY123&limit=5", "QWERTY123"),
        ("POST /login password=pa55word token=t0k3n", "pa55word"),
        ("POST /login password=pa55word token=t0k3n", "t0k3n"),
        ("Cookie: session=abc123; csrf=def456", "def456"),
        ("aws AKIAABCDEFGHIJKLMNOP denied", "AKIAABCDEFGHIJKLMNOP"),
        ("github ghp_abcdefghijklmnopqrstuvwxyz0123 leaked", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert MASK in masked


def test_header_name_and_scheme_stay_readable() -> None:
    assert redact("Authorization: Bearer xyz") == f"Authorization: Bearer {MASK}"
    assert redact("x-api-key: sk-test-SECRET123 rejected") == f"x-api-key: {MASK} rejected"
    assert redact("401 from upstream: x-api-key=abc; retry") == f"401 from upstream: x-api-key={MASK}; retry"


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 503: 503 Service Unavailable",
        "task-manager-service timed out after 30s",
        "input_tokens: 1200, output_tokens: 300",
        "ConnectionRefusedError: [Errno 111] Connection refused",
        "GET /v1/messages?limit=10&cursor=abc",
        "",
    ],
)
def test_ordinary_messages_are_untouched(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "x-api-key: sk-test-SECRET123",
        'h={"Authorization": "Bearer abc.def", "x-api-key":"k123"}',
        "Authorization: Bearer xyz, x-api-key: foo",
        "https://u:p@h/?token=a&key=b",
        "Cookie: a=b; c=d\nnext line",
    ],
)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
