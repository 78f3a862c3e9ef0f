"""The REST API under `/api/`: the NinjaAPI, its authentication, and errors as RFC 9457 problem details.

Authentication: `Authorization: Bearer <token>` with a token from `o2c api-token USERNAME`; only the
token's SHA-256 hash is stored (o2c.workspace.services). The caller's roles (Django groups, see
o2c.workspace.roles) decide what each endpoint allows; the data is limited to the legal entities
granted to the caller.

Every error is `application/problem+json`:
`{"type": ..., "title": ..., "status": ..., "detail": ..., "code": ...}`

- 401 `not_authenticated` (type about:blank): no token, or an unknown or revoked token, or an
  inactive user's.
- 403 `forbidden` (about:blank): the caller's roles do not allow the action.
- 404 `not_found` (about:blank): no such object in the caller's legal entities.
- 409 with the DomainError's code (type `urn:o2c:problem:<code>`): a refused action that conflicts
  with what exists: a duplicate number (`duplicate_number`, `duplicate_iban`), a document issued
  already (`not_draft`). Retrying the same request cannot succeed.
- 422 with the DomainError's code (type `urn:o2c:problem:<code>`): any other refused action or bad
  value (`bad_currency`, `bad_vat_id`, `no_lines`, `unknown_customer`, `bad_cursor`, ...).
- 422 `validation_error` (type `urn:o2c:problem:validation_error`): the request does not fit the
  schema; `errors` lists each problem as `{"loc": [...], "msg": ..., "type": ...}`.

Unexpected errors are not caught here: Django logs them and answers 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.security import HttpBearer

from o2c.billing import api as billing_api
from o2c.cash import api as cash_api
from o2c.close import api as close_api
from o2c.collections import api as collections_api
from o2c.collections import delivery_api, escalation_api, late_charges_api
from o2c.collections import plans_api as dunning_plans_api
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.credit import api as credit_api
from o2c.credit import scoring_api as credit_scoring_api
from o2c.customers import api as customers_api
from o2c.disputes import api as disputes_api
from o2c.documents import api as documents_api
from o2c.receivables import api as receivables_api
from o2c.reporting import api as reporting_api
from o2c.workspace import roles
from o2c.workspace import services as workspace_services

PROBLEM_JSON = "application/problem+json"

# Refusals that conflict with what exists rather than with what was sent.
CONFLICT_CODES = frozenset(
    {"duplicate_number", "duplicate_iban", "not_draft", "not_pending", "pending_exists", "duplicate_order"}
)

# The capabilities the apps' endpoints ask for, and the roles that grant them.
CAPABILITY_ROLES: dict[str, frozenset[str]] = {
    customers_api.VIEW_RECEIVABLES: roles.VIEW_RECEIVABLES,
    customers_api.EDIT_CUSTOMERS: roles.EDIT_CUSTOMERS,
    customers_api.ISSUE_DOCUMENTS: roles.ISSUE_DOCUMENTS,
    receivables_api.APPROVE_CREDITS: roles.APPROVE_CREDITS,
    cash_api.APPLY_CASH: roles.APPLY_CASH,
    # the month-end close: read by who sees the AR dashboard, changed by who may reopen a period
    close_api.VIEW_CLOSE: frozenset({roles.AR_MANAGER, roles.AUDITOR, roles.ADMIN}),
    close_api.CLOSE_PERIODS: roles.REOPEN_PERIODS,
    disputes_api.VIEW_DISPUTES: roles.VIEW_DISPUTES,
    disputes_api.CHANGE_DISPUTES: roles.CHANGE_DISPUTES,
    disputes_api.APPROVE_WRITE_OFFS: roles.APPROVE_CREDITS,
    # the disputes settings (customers' codes, routing and SLA, write-off thresholds): read with the cases
    disputes_api.MANAGE_DISPUTE_SETTINGS: frozenset({roles.AR_MANAGER, roles.ADMIN}),
    # statements of account: read by everyone who sees customers, e-mailed by who works collections
    documents_api.SEND_STATEMENTS: frozenset({roles.COLLECTOR, roles.AR_MANAGER, roles.ADMIN}),
    collections_api.VIEW_COLLECTIONS: roles.VIEW_COLLECTIONS,
    collections_api.CHANGE_COLLECTIONS: roles.CHANGE_COLLECTIONS,
    collections_api.APPROVE_PLANS: roles.APPROVE_CREDITS,
    # another collector's worklist: who reviews portfolios (a collector sees her own)
    collections_api.REVIEW_PORTFOLIOS: frozenset({roles.AR_MANAGER, roles.AUDITOR, roles.ADMIN}),
    collections_api.ASSIGN_PORTFOLIOS: frozenset({roles.AR_MANAGER, roles.ADMIN}),
    # dunning plans, their steps and texts: read with collections (VIEW_COLLECTIONS), changed by the AR
    # managers and admins
    dunning_plans_api.EDIT_DUNNING_PLANS: frozenset({roles.AR_MANAGER, roles.ADMIN}),
    # late-payment policies and reference rates: who sets the collections policy
    late_charges_api.MANAGE_LATE_CHARGES: frozenset({roles.AR_MANAGER, roles.ADMIN}),
    # credit: limits, orders under credit control, holds and blocks worked by the credit analysts (and AR
    # managers), read by auditors; a limit above the threshold approved by a second person (AR managers,
    # admins); orders posted by who enters them (billing) and the credit team
    credit_api.VIEW_CREDIT: roles.VIEW_CREDIT,
    credit_api.MANAGE_CREDIT: roles.MANAGE_CREDIT,
    credit_api.APPROVE_LIMITS: roles.APPROVE_LIMITS,
    credit_api.TAKE_ORDERS: roles.TAKE_ORDERS,
    # dunning e-mail bounces posted and undeliverable marks cleared: who works collections
    delivery_api.MANAGE_DELIVERY: frozenset({roles.COLLECTOR, roles.AR_MANAGER, roles.ADMIN}),
    # escalation: collectors raise an account to their team lead (the service checks each move),
    # AR managers and admins move it anywhere, keep the matrix, agencies and placements
    escalation_api.ESCALATE_ACCOUNTS: roles.CHANGE_COLLECTIONS,
    escalation_api.MANAGE_ESCALATION: frozenset({roles.AR_MANAGER, roles.ADMIN}),
    # credit scoring: applications, scores, reviews and raise decisions by the credit analysts (and AR
    # managers), read by auditors; raises asked for by who sells (billing) too; the scorecard changed by
    # the credit manager (AR managers, admins)
    credit_scoring_api.VIEW_SCORING: roles.VIEW_SCORING,
    credit_scoring_api.SCORE_CREDIT: roles.SCORE_CREDIT,
    credit_scoring_api.REQUEST_RAISES: roles.REQUEST_RAISES,
    credit_scoring_api.MANAGE_SCORECARD: roles.MANAGE_SCORECARD,
}


@dataclass(frozen=True)
class ApiCaller:
    """What authentication puts on `request.auth` (the `Caller` of the apps' routers)."""

    user: User
    token_id: int

    def may(self, capability: str) -> bool:
        return roles.has_any(self.user, CAPABILITY_ROLES[capability])


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller | None:
        api_token = workspace_services.api_token_authenticate(token=token.strip(), now=clock.now())
        if api_token is None:
            return None
        request.user = api_token.user
        return ApiCaller(user=api_token.user, token_id=api_token.pk)


class O2CApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The view function's name (`invoice_issue`), not its module path."""
        return operation.view_func.__name__

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """Ninja's document, plus the problem details every operation may answer with."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        reference = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, path_item in schema.get("paths", {}).items():
            for method, operation in path_item.items():
                responses = operation.setdefault("responses", {})
                for status, description in PROBLEM_RESPONSES.items():
                    if (status == 404 and "{" not in path) or (status == 409 and method == "get"):
                        continue
                    responses.setdefault(str(status), {"description": description, **reference})
        return schema


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable and snake_case.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["about:blank", "urn:o2c:problem:bad_currency"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["bad_currency", "not_found", "validation_error"]},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "validation_error only"},
    },
}
PROBLEM_RESPONSES = {
    401: "Not authenticated",
    403: "Not allowed for the caller's roles",
    404: "Not found in the caller's legal entities",
    409: "Conflicts with the current state",
    422: "Refused or invalid",
}


api = O2CApi(
    title="O2C API",
    version="1",
    description="The REST API of O2C. Authenticate with `Authorization: Bearer <token>` "
    "(`o2c api-token USERNAME`). Errors are RFC 9457 problem details with a stable `code`.",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=BearerToken(),
    urls_namespace="api",
)
api.add_router("/customers", customers_api.router)
api.add_router("/customers", documents_api.router)
api.add_router("/invoices", receivables_api.router)
api.add_router("/billing", billing_api.router)
api.add_router("/cash", cash_api.router)
api.add_router("/reports", reporting_api.router)
api.add_router("/close", close_api.router)
api.add_router("/disputes", disputes_api.router)
api.add_router("/collections", collections_api.router)
api.add_router("/collections", dunning_plans_api.router)
api.add_router("/collections", late_charges_api.router)
api.add_router("/credit", credit_api.router)
api.add_router("/credit", credit_scoring_api.router)
api.add_router("/collections", delivery_api.router)
api.add_router("/collections", escalation_api.router)


def problem(
    status: int, detail: str, code: str, *, type_: str = "about:blank", title: str = "", **extra: Any
) -> HttpResponse:
    body = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JsonResponse(body, status=status, content_type=PROBLEM_JSON)


def _title_of(error: DomainError) -> str:
    """`UnableToSaveCustomer` -> 'Unable to save customer'."""
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", type(error).__name__)
    return " ".join(words).capitalize() if words else "Refused"


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    status = HTTPStatus.CONFLICT if error.code in CONFLICT_CODES else HTTPStatus.UNPROCESSABLE_ENTITY
    return problem(
        status, error.message, error.code, type_=f"urn:o2c:problem:{error.code}", title=_title_of(error)
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    reasons: list[str] = []
    for item in error.errors:
        loc = [str(part) for part in item.get("loc", ())]
        msg = str(item.get("msg", ""))
        errors.append({"loc": loc, "msg": msg, "type": str(item.get("type", ""))})
        reasons.append(f"{'.'.join(loc)}: {msg}")
    detail = "; ".join(reasons) or "invalid request"
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        detail,
        "validation_error",
        type_="urn:o2c:problem:validation_error",
        title="Invalid request",
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = problem(
        HTTPStatus.UNAUTHORIZED,
        "a valid token is required: Authorization: Bearer <token>",
        "not_authenticated",
    )
    response["WWW-Authenticate"] = 'Bearer realm="o2c"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    codes = {403: "forbidden", 404: "not_found", 405: "method_not_allowed", 429: "too_many_requests"}
    return problem(error.status_code, error.message, codes.get(error.status_code, "http_error"))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return problem(HTTPStatus.FORBIDDEN, str(error) or "not allowed", "forbidden")


@api.exception_handler(Http404)
def _http_404(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem(HTTPStatus.NOT_FOUND, "no such object", "not_found")


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request: HttpRequest, error: ObjectDoesNotExist) -> HttpResponse:
    return problem(HTTPStatus.NOT_FOUND, "no such object", "not_found")
