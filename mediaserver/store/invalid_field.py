"""The store's refusal of a value a user set, naming the field as Plivo's API names it, so the
command line and the REST API refuse the same input with the same words."""


class InvalidFieldError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
