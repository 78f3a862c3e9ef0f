from o2c.core.exceptions import DomainError


class UnableToReadBankFile(DomainError):
    """A bank file that cannot be read; the one-line message names the file, where in it, and what is wrong.

    `code` is stable: `bad_bank_file` for content, `unsafe_xml` for DTDs and entities, `unsupported_bank_file`
    for a message or version we do not read.
    """

    def __init__(self, message: str, *, source: str, where: str | None = None, code: str = "bad_bank_file"):
        super().__init__(": ".join(part for part in (source, where, message) if part), code=code)
        self.source = source
        self.where = where
