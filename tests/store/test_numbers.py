import pytest

from mediaserver.store.applications import SqliteApplications, new_application
from mediaserver.store.database import open_database
from mediaserver.store.numbers import Number, NumberExistsError, SqliteNumbers, normalise_number


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
    numbers.add("442079460958", sub_account="SA123", now=6.0)
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
