"""Use cases of dispute and deduction cases (docs/disputes.md).

A case marks its document disputed through `receivables.services.disputed_flag_set`, and the last open
case on a document to end clears the flag. A case ends by a credit memo or a credit-and-rebill (made
through `receivables.services`, which applies the credit memo to the invoice when it is issued), by a
rejection (the amount is owed again and goes back to collections), or by a write-off allocation, which
above the entity's threshold waits for a second person with the AR manager's role. Every change is
audited as `disputes.*`.

The use cases live in modules by what they do (`opening`, `working`, `resolving`, `write_offs`,
`policies`; `_shared` holds what they share); every one is importable from here as before.
"""

from o2c.disputes.services._shared import OBJECT_TYPE
from o2c.disputes.services.opening import case_open, deduction_case_open
from o2c.disputes.services.policies import reason_mapping_set, reason_policy_set, write_off_policy_set
from o2c.disputes.services.resolving import (
    case_reject,
    case_resolve_credit,
    case_resolve_rebill,
    on_credit_memos_issued,
)
from o2c.disputes.services.working import case_assign, case_attachment_add, case_note_add, case_transition
from o2c.disputes.services.write_offs import (
    case_write_off,
    case_write_off_approve,
    case_write_off_reject,
    may_approve_write_offs,
)

__all__ = [
    "OBJECT_TYPE",
    "case_assign",
    "case_attachment_add",
    "case_note_add",
    "case_open",
    "case_reject",
    "case_resolve_credit",
    "case_resolve_rebill",
    "case_transition",
    "case_write_off",
    "case_write_off_approve",
    "case_write_off_reject",
    "deduction_case_open",
    "may_approve_write_offs",
    "on_credit_memos_issued",
    "reason_mapping_set",
    "reason_policy_set",
    "write_off_policy_set",
]
