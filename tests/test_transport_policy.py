"""Where answers may send us: internal addresses only when allowed, metadata services never."""

import pytest

from osint.transport.base import redact
from osint.transport.policy import AddressPolicy, BlockedAddress


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1",
                                  "::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1"])
def test_internal_literals_from_answers_are_refused_unless_allowed(addr):
    with pytest.raises(BlockedAddress, match="allow_private"):
        AddressPolicy().check_literal(addr, trusted=False)
    AddressPolicy(allow_private=True).check_literal(addr, trusted=False)
    AddressPolicy().check_literal(addr, trusted=True)  # configured endpoints are the user's choice


@pytest.mark.parametrize("addr", ["169.254.169.254", "[fd00:ec2::254]", "::ffff:169.254.169.254"])
def test_metadata_service_is_never_followed_from_an_answer(addr):
    for policy in (AddressPolicy(allow_private=True), AddressPolicy()):
        with pytest.raises(BlockedAddress) as exc:
            policy.check_literal(addr, trusted=False)
        # The message must not suggest a setting that would not change the answer.
        assert "never followed, whatever enrich.allow_private says" in str(exc.value)
        assert "set enrich.allow_private = true" not in str(exc.value)


def test_loopback_name_is_resolved_and_refused():
    with pytest.raises(BlockedAddress, match="resolves to 127.0.0.1"):
        AddressPolicy().check_host("localhost", 43, trusted=False)


def test_redact_removes_plain_and_url_encoded_secrets():
    secret = "ab+c/d=e-SECRET"
    text = f"GET /host?key={secret} and key=ab%2Bc%2Fd%3De-SECRET and key=ab%2Bc/d%3De-SECRET"
    out = redact(text, [secret])
    assert "SECRET" not in out and out.count("***") == 3
