"""The store's refusals, each naming the field as Plivo's API names it, so the command line
and the REST API refuse the same input with the same words (the API answers all three with a
400 naming the field)."""


class InvalidFieldError(ValueError):
    """A value a user set is not acceptable."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnknownReferenceError(LookupError):
    """A field names something that does not exist (in the account's scope)."""

    def __init__(self, field: str, value: str, what: str) -> None:
        super().__init__(f"no {what} {value}")
        self.field = field
        self.problem = f"no {what} {value}"


class AlreadyExistsError(Exception):
    """A field's value must be unique and is taken."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(value)
        self.field = field
        self.problem = f"{value} already exists"
