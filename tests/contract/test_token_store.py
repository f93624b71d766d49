"""TokenStore: the same cases against the in-memory fake and DynamoTokenStore."""

from datetime import timedelta

from iacp.principal import Role
from iacp.tokens.store import TokenRecord
from tests.contract.conftest import NOW, Stores, every_page


def token(token_id: str, **fields: object) -> TokenRecord:
    return TokenRecord.model_validate(
        {
            "id": token_id,
            "token_hash": f"hash-{token_id}",
            "role": Role.WRITE,
            "description": "",
            "created_at": NOW,
            "created_by": "at-admin",
            "workspaces": None,
            "expires_at": None,
        }
        | fields
    )


def test_a_token_is_read_back_as_added(stores: Stores):
    limited = token("at-1", workspaces=["ws-1"], expires_at=NOW + timedelta(days=1))
    stores.tokens.add(limited)

    assert stores.tokens.get("at-1") == limited
    assert stores.tokens.get("at-2") is None


def test_tokens_are_listed_a_page_at_a_time(stores: Stores):
    for n in range(5):
        stores.tokens.add(token(f"at-{n}"))

    listed = every_page(stores.tokens.page, 2)

    assert sorted(t.id for t in listed) == [f"at-{n}" for n in range(5)]


def test_a_token_is_deleted_once(stores: Stores):
    stores.tokens.add(token("at-1"))

    assert stores.tokens.delete("at-1") is True
    assert stores.tokens.delete("at-1") is False
    assert stores.tokens.get("at-1") is None
