"""Which account's rows a query sees. The main account sees every account's resources, or one
account's when it asks (Plivo's `subaccount` filter); a sub-account sees its own only."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountScope:
    every_account: bool = True
    sub_account: str | None = None  # with every_account False: None is the main account's own

    def sql(self, column: str = "sub_account") -> tuple[str, tuple[str | None, ...]]:
        """A WHERE condition on `column` and its parameters."""
        if self.every_account:
            return "1", ()
        return f"{column} IS ?", (self.sub_account,)

    def admits(self, sub_account: str | None) -> bool:
        return self.every_account or sub_account == self.sub_account


EVERY_ACCOUNT = AccountScope()


def one_account(sub_account: str | None) -> AccountScope:
    return AccountScope(every_account=False, sub_account=sub_account)
