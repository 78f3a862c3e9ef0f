"""Cash application: bank statements in, payments matched and applied to open items."""
