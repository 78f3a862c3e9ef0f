"""Every audit action the code records has a label in the reader's language on the audit trail.

The action codes are read from the source: the `action=` argument of every call that also names an
`object_type` (audit_services.record and .event, and helpers that pass them on), through string
literals, conditional expressions, and parameters filled by the callers in the same module. An action
built at run time (an f-string) must be declared in DYNAMIC_ACTIONS, or this test fails.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib import admin
from django.utils import translation

from o2c.ledger.admin import AuditedAdmin
from o2c.receivables.models import ApprovalState
from o2c.workspace.templatetags.o2c_format import LABELS

SRC = Path(__file__).resolve().parents[2] / "src" / "o2c"
AUDIT_APP = SRC / "audit"  # `record(action=action, ...)` itself: the generic API, not an action


def _audited_admin_actions() -> set[str]:
    models = [
        model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, AuditedAdmin)
    ]
    return {
        f"admin.{model._meta.model_name}.{change}" for model in models for change in ("changed", "created")
    }


# the source text of each f-string action -> the codes it can produce
DYNAMIC_ACTIONS: dict[str, set[str]] = {
    'f"receivables.credit_memo.{decision}"': {
        f"receivables.credit_memo.{decision}" for decision in (ApprovalState.APPROVED, ApprovalState.REJECTED)
    },
    "f\"admin.{obj._meta.model_name}.{'changed' if change else 'created'}\"": _audited_admin_actions(),
}


class Unresolved(Exception):
    pass


class Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self.tree = ast.parse(self.source)
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(SRC)}:{getattr(node, 'lineno', '?')}"

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def calls_to(self, name: str) -> Iterator[ast.Call]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                func = node.func
                if (isinstance(func, ast.Name) and func.id == name) or (
                    isinstance(func, ast.Attribute) and func.attr == name
                ):
                    yield node

    def codes(self, expr: ast.expr, depth: int = 0) -> set[str]:
        """The action codes an expression can evaluate to."""
        if depth > 5:
            raise Unresolved(f"{self.where(expr)}: too many hops to resolve {ast.unparse(expr)}")
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.codes(expr.body, depth) | self.codes(expr.orelse, depth)
        if isinstance(expr, ast.JoinedStr):
            text = ast.get_source_segment(self.source, expr) or ast.unparse(expr)
            if text not in DYNAMIC_ACTIONS:
                raise Unresolved(f"{self.where(expr)}: declare the codes of {text} in DYNAMIC_ACTIONS")
            return DYNAMIC_ACTIONS[text]
        if isinstance(expr, ast.Name):
            return self._name_codes(expr, depth)
        raise Unresolved(f"{self.where(expr)}: cannot tell which action {ast.unparse(expr)} is")

    def _name_codes(self, name: ast.Name, depth: int) -> set[str]:
        function = self.function_of(name)
        if function is None:
            raise Unresolved(f"{self.where(name)}: {name.id} is not a parameter")
        assigned = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name.id for t in node.targets)
        ]
        if assigned:
            return set().union(*(self.codes(value, depth + 1) for value in assigned))
        arguments = function.args
        positional = [a.arg for a in arguments.posonlyargs + arguments.args]
        if name.id not in positional + [a.arg for a in arguments.kwonlyargs]:
            raise Unresolved(f"{self.where(name)}: {name.id} is neither assigned nor a parameter")
        found: set[str] = set()
        for call in self.calls_to(function.name):
            passed = [k.value for k in call.keywords if k.arg == name.id]
            if not passed and name.id in positional and positional.index(name.id) < len(call.args):
                passed = [call.args[positional.index(name.id)]]
            if not passed:
                raise Unresolved(f"{self.where(call)}: {function.name}() called without {name.id}")
            found |= self.codes(passed[0], depth + 1)
        if not found:
            raise Unresolved(f"{self.where(name)}: {function.name}() is not called in its module")
        return found


def audit_actions() -> dict[str, str]:
    """{action code: where it is recorded} for every audit action in src/o2c."""
    actions: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path.is_relative_to(AUDIT_APP):
            continue
        module = Module(path)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "action" in keywords and "object_type" in keywords:
                for code in module.codes(keywords["action"]):
                    actions.setdefault(code, module.where(node))
    return actions


def test_every_audit_action_recorded_in_the_code_has_a_label() -> None:
    missing = {code: where for code, where in audit_actions().items() if code not in LABELS}
    assert missing == {}


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_every_audit_action_label_is_translated(language: str) -> None:
    english = {code: str(LABELS[code]) for code in audit_actions() if code in LABELS}
    with translation.override(language):
        untranslated = [code for code, text in english.items() if str(LABELS[code]) == text]
    assert untranslated == []


def test_the_scan_finds_actions_of_every_kind() -> None:
    """Literals, both branches of a condition, parameters passed by a helper's callers, f-strings."""
    actions = audit_actions()
    for code in (
        "billing.subscription.amended",
        "billing.subscription.cancelled",
        "billing.subscription.renewed",
        "ledger.tax_registration.created",
        "ledger.tax_registration.updated",
        "customers.customer.created",  # customers_import's _import_event(customer, "…", …)
        "ledger.bank_account.created",  # the demo's _audit(admin, "…", …)
        "receivables.credit_memo.rejected",
        "admin.fxrate.changed",
    ):
        assert code in actions, code


def test_an_action_the_scan_cannot_resolve_fails_loudly() -> None:
    module = Module.__new__(Module)
    module.path = SRC / "example.py"
    module.source = "def f(kind):\n    record(action=f'x.{kind}.done', object_type='x')\n"
    module.tree = ast.parse(module.source)
    module.parents = {child: node for node in ast.walk(module.tree) for child in ast.iter_child_nodes(node)}
    call = next(n for n in ast.walk(module.tree) if isinstance(n, ast.Call))
    with pytest.raises(Unresolved, match="DYNAMIC_ACTIONS"):
        module.codes(call.keywords[0].value)
