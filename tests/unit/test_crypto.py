import pytest
from cryptography.exceptions import InvalidTag

from iacp.crypto import Sealer, derive_key

SECRET = "platform-secret-for-tests-0123456789abcdef0123456789abcdef"


def test_sealed_value_opens_only_where_it_was_bound():
    sealer = Sealer(derive_key(SECRET, "variables"))
    sealed = sealer.seal("hunter2", bound_to="ws-a/var-1")

    assert "hunter2" not in sealed
    assert sealer.open(sealed, bound_to="ws-a/var-1") == "hunter2"
    with pytest.raises(InvalidTag):
        sealer.open(sealed, bound_to="ws-b/var-1")


def test_each_seal_is_fresh():
    sealer = Sealer(derive_key(SECRET, "variables"))

    assert sealer.seal("same", bound_to="x") != sealer.seal("same", bound_to="x")


def test_keys_differ_by_purpose_and_secret():
    assert derive_key(SECRET, "variables") != derive_key(SECRET, "jwt")
    assert derive_key(SECRET, "variables") != derive_key(SECRET + "x", "variables")
    assert len(derive_key(SECRET, "variables")) == 32  # AES-256


def test_a_value_sealed_under_another_key_does_not_open():
    sealed = Sealer(derive_key(SECRET, "variables")).seal("v", bound_to="x")

    with pytest.raises(InvalidTag):
        Sealer(derive_key(SECRET, "other")).open(sealed, bound_to="x")
