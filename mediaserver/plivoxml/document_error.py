"""The one exception the Plivo XML parser raises.

Plivo ends a call whose document it cannot use with 8011 Invalid Answer XML (8012, 8013, 8014
for action, transfer and redirect documents) and writes a debug-log entry naming what was
wrong (plivo.md §1 "Fetch", §3 hangup codes). The interpreter knows which document it fetched,
so it chooses the code; this error carries what the entry needs.
"""


class XmlDocumentError(ValueError):
    """A document Plivo would refuse: bad XML, a bad element, attribute, value or nesting.

    `element`, `attribute` and `value` name the fault where there is one (None for a document
    that is too large or not XML at all); `line` is the 1-based line of the element, or of the
    syntax error. `reason` is one human sentence without those details; `str()` has them all.
    """

    def __init__(
        self,
        reason: str,
        *,
        element: str | None = None,
        attribute: str | None = None,
        value: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.element = element
        self.attribute = attribute
        self.value = value
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line for the per-call debug log: where, what and why."""
        parts = [] if self.line is None else [f"line {self.line}"]
        if self.element is not None:
            parts.append(f"<{self.element}>")
        if self.attribute is not None:
            parts.append(f"{self.attribute}={self.value!r}")
        elif self.value is not None:
            parts.append(repr(self.value))
        return ": ".join([" ".join(parts), self.reason]) if parts else self.reason
