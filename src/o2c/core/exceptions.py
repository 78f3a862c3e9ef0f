"""The root of every refusal a domain service can raise."""


class DomainError(Exception):
    """A business rule refused an action; `code` is stable and snake_case for API clients."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InputError(DomainError):
    """Bad input in a file or a request; names where (file, row, column) in its message."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "bad_input",
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        where = [part for part in (file, f"row {row}" if row is not None else None, column) if part]
        full = f"{': '.join(where)}: {message}" if where else message
        super().__init__(full, code=code)
        self.file = file
        self.row = row
        self.column = column
