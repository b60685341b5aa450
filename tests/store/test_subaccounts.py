import re
import sqlite3

import pytest

from mediaserver.store.applications import SqliteApplications, new_application
from mediaserver.store.database import open_database
from mediaserver.store.errors import InvalidFieldError
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount


@pytest.fixture
def database() -> sqlite3.Connection:
    return open_database(":memory:")


def test_new_subaccount_has_plivo_shaped_credentials() -> None:
    subaccount = new_subaccount("shop", True, now=5.0)
    assert re.fullmatch(r"SA[A-Z0-9]{18}", subaccount.auth_id)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", subaccount.auth_token)
    assert (subaccount.created_at, subaccount.modified_at) == (5.0, 5.0)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_name_is_refused_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidFieldError) as refused:
        new_subaccount(name, True)
    assert refused.value.field == "name"


def test_add_get_update_list(database: sqlite3.Connection) -> None:
    store = SqliteSubaccounts(database)
    added = store.add(new_subaccount("shop", True, now=1.0))
    assert store.get(added.auth_id) == added
    assert store.update(added.auth_id, "shop2", False, now=2.0)
    changed = store.get(added.auth_id)
    assert changed is not None
    assert (changed.name, changed.enabled, changed.modified_at) == ("shop2", False, 2.0)
    assert store.list() == [changed]
    assert not store.update("SA" + "0" * 18, "x", True)


@pytest.mark.parametrize("cascade", [True, False])
def test_remove_cascades_or_hands_resources_to_the_main_account(
    database: sqlite3.Connection, cascade: bool
) -> None:
    store = SqliteSubaccounts(database)
    subaccount = store.add(new_subaccount("shop", True))
    applications = SqliteApplications(database)
    application = applications.add(
        new_application("a", "https://example.com/a", sub_account=subaccount.auth_id)
    )
    numbers = SqliteNumbers(database)
    numbers.add("15550001111", sub_account=subaccount.auth_id)
    assert store.remove(subaccount.auth_id, cascade)
    assert store.get(subaccount.auth_id) is None
    left = applications.get(application.app_id)
    number = numbers.get("15550001111")
    if cascade:
        assert (left, number) == (None, None)
    else:
        assert left is not None
        assert number is not None
        assert (left.sub_account, number.sub_account) == (None, None)
