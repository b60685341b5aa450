import pytest

from mediaserver.store.account_scope import one_account
from mediaserver.store.applications import (
    SqliteApplications,
    UnknownApplicationError,
    new_application,
)
from mediaserver.store.database import open_database
from mediaserver.store.errors import InvalidFieldError, UnknownReferenceError
from mediaserver.store.numbers import Number, NumberExistsError, SqliteNumbers, normalise_number
from mediaserver.store.sqlite_carriers import SqliteCarriers
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("+14155550100", "14155550100"),
        ("14155550100", "14155550100"),
        ("+1 415-555-0100", "14155550100"),
        ("+1 (415) 555.0100", "14155550100"),  # E.123 visual separators
        ("1(415)5550100", "14155550100"),
        (" 44 20 7946 0958 ", "442079460958"),
        ("1", "1"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_normalisation(text: str, digits: str) -> None:
    assert normalise_number(text) == digits


@pytest.mark.parametrize(
    "text", ["", "+", "++1415", "1234567890123456", "1415555O100", "(1)", "٣٣", "1+2"]
)
def test_non_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        normalise_number(text)


def test_add_get_list_remove() -> None:
    connection = open_database(":memory:")
    numbers = SqliteNumbers(connection)
    application = new_application("app", "https://example.com/answer")
    app_id = SqliteApplications(connection).add(application).app_id
    added = numbers.add("+1 415 555 0100", alias="Support", app_id=app_id, now=5.0)
    assert added == Number("14155550100", "Support", app_id, None, 5.0)
    subaccount = SqliteSubaccounts(connection).add(new_subaccount("shop", True))
    numbers.add("442079460958", sub_account=subaccount.auth_id, now=6.0)
    assert numbers.get("1-415-555-0100") == added
    assert numbers.get("+14155550101") is None
    assert numbers.get("not a number") is None
    assert [n.number for n in numbers.list()] == ["14155550100", "442079460958"]
    assert numbers.remove("+14155550100")
    assert not numbers.remove("14155550100")
    assert [n.number for n in numbers.list()] == ["442079460958"]


def test_same_number_written_differently_is_a_duplicate() -> None:
    numbers = SqliteNumbers(open_database(":memory:"))
    numbers.add("14155550100")
    with pytest.raises(NumberExistsError):
        numbers.add("+1 415-555-0100")
    with pytest.raises(ValueError, match="not a phone number"):
        numbers.add("call me")
    assert len(numbers.list()) == 1


def test_carrier_region_type_filters_and_update() -> None:
    connection = open_database(":memory:")
    numbers = SqliteNumbers(connection)
    carrier = SqliteCarriers(connection).add_incoming("trunk", ["192.0.2.1"])
    subaccount = SqliteSubaccounts(connection).add(new_subaccount("shop", True))
    numbers.add("15550001", carrier=carrier.carrier_id, region="CA", number_type="tollfree")
    numbers.add("15550002", alias="x", sub_account=subaccount.auth_id)
    numbers.add("4420", alias="x")
    assert [n.number for n in numbers.list(number_type="tollfree")] == ["15550001"]
    assert [n.number for n in numbers.list(number_startswith="1555")] == ["15550001", "15550002"]
    assert [n.number for n in numbers.list(alias="x")] == ["15550002", "4420"]
    own = numbers.list(one_account(subaccount.auth_id))
    assert [n.number for n in own] == ["15550002"]
    assert [n.number for n in numbers.list(one_account(None))] == ["15550001", "4420"]
    updated = numbers.update("+15550001", {"alias": "new"})
    assert updated is not None
    assert (updated.alias, updated.carrier, updated.region) == ("new", carrier.carrier_id, "CA")
    assert numbers.get("15550001") == updated
    assert numbers.update("999", {"alias": "x"}) is None


def test_references_are_checked_and_nothing_is_half_written() -> None:
    connection = open_database(":memory:")
    numbers = SqliteNumbers(connection)
    subaccount = SqliteSubaccounts(connection).add(new_subaccount("shop", True))
    main_app = SqliteApplications(connection).add(new_application("a", "https://e.com/a"))
    with pytest.raises(UnknownReferenceError, match="no incoming carrier nope"):
        numbers.add("15550001", carrier="nope")
    with pytest.raises(UnknownApplicationError):  # another account's application
        numbers.add("15550001", app_id=main_app.app_id, sub_account=subaccount.auth_id)
    with pytest.raises(InvalidFieldError, match="number_type"):
        numbers.add("15550001", number_type="premium")
    first = Number("15550001", "", None, None, 1.0)
    with pytest.raises(NumberExistsError):
        numbers.add_all([first, Number("15550002", "", None, None, 1.0), first])
    assert numbers.list() == []
