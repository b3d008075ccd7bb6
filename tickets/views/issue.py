"""The issuing form: fill in (by hand or from a CSV), review exactly what will be sent, confirm.

The idempotency key is minted when the form is first rendered and travels with it: the review
page and the confirm button are keyed by it, and `submit_issuance` turns one key into at most one
issuance. A double click, Back + resubmit or a second tab therefore lead to the same issuance.

Between the form and the confirm button the request lives in the session as an `IssuanceDraft`,
encrypted (never in hidden fields the browser could alter after review): `tickets.drafts`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import roles
from tickets.drafts import (
    IssuanceDraft,
    api_call_count,
    discard_draft,
    draft_digest,
    load_draft,
    store_draft,
    was_reviewed,
)
from tickets.forms.holders import (
    HOLDER_PREFIX,
    MAX_HOLDERS,
    HolderForm,
    country_choices,
    holder_error_summary,
    holder_formset,
    holder_initial,
    posted_holder_rows,
)
from tickets.forms.holders_csv import CsvImportForm
from tickets.forms.issue import (
    IssuanceForm,
    build_draft,
    issuance_initial_from_draft,
    price_option_label,
)
from tickets.models import Issuance, Rate, Supplement
from tickets.redaction import mask_document
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import issuances as issuance_selectors
from tickets.services.issuance import IssuanceError, credential_problem, submit_issuance

issue_required = permission_required(roles.ISSUE_COMPS, raise_exception=True)


# --- The form --------------------------------------------------------------------------------


@issue_required
@require_http_methods(["GET", "POST"])
def issue_new(request: HttpRequest) -> HttpResponse:
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        # Said before the form is filled in, not after the issuer typed 50 names.
        return render(request, "tickets/issue/no_credential.html", {"problem": problem})
    environment = credential.environment
    if request.method == "POST":
        return _submit_form(request, environment)

    key = _uuid_or_none(request.GET.get("key"))
    if key is not None:
        issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
        if issued is not None:
            return _to_existing_issuance(request, issued)
        draft = load_draft(request.session, key)
        if draft is not None:
            # Back from the review page: the same form, the same key.
            form = IssuanceForm(
                environment=environment, initial=issuance_initial_from_draft(draft, key)
            )
            rows = [holder_initial(h) for h in draft.holders]
            return _render_form(request, form=form, rows=rows)
        messages.warning(request, "That form has expired; here is a fresh one.")

    form = IssuanceForm(environment=environment, initial={"idempotency_key": uuid.uuid4()})
    return _render_form(request, form=form, rows=[])


def _submit_form(request: HttpRequest, environment: str) -> HttpResponse:
    form = IssuanceForm(environment=environment, data=request.POST)
    key = _uuid_or_none(request.POST.get("idempotency_key"))
    if key is not None:
        issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
        if issued is not None:
            return _to_existing_issuance(request, issued)
    formset = holder_formset(data=request.POST, supplements=_supplements(form.chosen_rate))
    forms_valid = form.is_valid()
    formset_valid = formset.is_valid()
    if forms_valid and formset_valid and key is not None:
        draft = build_draft(form, formset)
        store_draft(request.session, key, draft)
        return redirect("issue-review", key=key)
    return _render_form(request, form=form, formset=formset, status=200)


def _render_form(
    request: HttpRequest,
    *,
    form: IssuanceForm,
    rows: list[dict[str, Any]] | None = None,
    formset: Any = None,
    csv_form: CsvImportForm | None = None,
    csv_report: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    supplements = _supplements(form.chosen_rate)
    if formset is None:
        formset = holder_formset(initial=rows or None, supplements=supplements)
    summary: list[str] = []
    if form.is_bound:
        summary = _issuance_errors(form)
    if formset.is_bound:
        summary += holder_error_summary(formset)
    context = {
        "form": form,
        "formset": formset,
        "csv_form": csv_form or CsvImportForm(),
        "csv_report": csv_report,
        "error_summary": summary,
        "supplements": supplements,
        "rate": form.chosen_rate,
        "has_supplements": bool(_all_supplements()),
        "countries": country_choices(),
        "max_holders": MAX_HOLDERS,
        "credential": credential_selectors.active_credential(),
    }
    return render(request, "tickets/issue/form.html", context, status=status)


def _issuance_errors(form: IssuanceForm) -> list[str]:
    """ "Event: This field is required." for each error of the top of the form."""
    lines = []
    for name, errors in form.errors.items():
        label = "" if name == NON_FIELD_ERRORS else f"{form[name].label}: "
        lines.extend(f"{label}{error}" for error in errors)
    return lines


# --- htmx partials: the choices follow the event and rate; rows come and go ------------------


@issue_required
@require_GET
def issue_rates(request: HttpRequest) -> HttpResponse:
    """The rate <option>s of the chosen event (and the price options reset)."""
    form = _choice_form(request)
    if form is None:
        return HttpResponseBadRequest("No active Fourvenues credential.")
    rates = form.fields["rate"].queryset if form.chosen_event is not None else Rate.objects.none()
    return render(
        request,
        "tickets/issue/_rate_options.html",
        {"rates": rates, "event": form.chosen_event, "supplements": _supplements(None)},
    )


@issue_required
@require_GET
def issue_options(request: HttpRequest) -> HttpResponse:
    """The price <option>s of the chosen rate, and which supplements apply to it."""
    form = _choice_form(request)
    if form is None:
        return HttpResponseBadRequest("No active Fourvenues credential.")
    rate = form.chosen_rate
    options = (
        [(o.pk, price_option_label(o)) for o in form.fields["price_option"].queryset]
        if rate is not None
        else []
    )
    return render(
        request,
        "tickets/issue/_price_options.html",
        {"options": options, "rate": rate, "supplements": _supplements(rate)},
    )


@issue_required
@require_GET
def issue_row(request: HttpRequest) -> HttpResponse:
    """One empty holder row, numbered `index` (the current number of rows)."""
    raw_index = request.GET.get("index", request.GET.get("holders-TOTAL_FORMS", ""))
    try:
        index = int(raw_index)
    except ValueError:
        return HttpResponseBadRequest("index must be a number")
    if not 0 <= index < MAX_HOLDERS:
        return render(request, "tickets/issue/_row_limit.html", {"max_holders": MAX_HOLDERS})
    form = _choice_form(request)
    rate = form.chosen_rate if form is not None else None
    row = HolderForm(prefix=f"{HOLDER_PREFIX}-{index}", supplements=_supplements(rate))
    return render(
        request,
        "tickets/issue/_new_row.html",
        {
            "holder": row,
            "index": index,
            "total": index + 1,
            "has_supplements": bool(_all_supplements()),
        },
    )


@issue_required
@require_POST
def issue_import(request: HttpRequest) -> HttpResponse:
    """Fill the rows from a pasted or uploaded CSV (replacing them, or after them).

    Posted with the whole form, so the rows already typed can be kept; answers the holder
    section for htmx, or the whole page when JavaScript is off.
    """
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        # Said before the form is filled in, not after the issuer typed 50 names.
        return render(request, "tickets/issue/no_credential.html", {"problem": problem})
    environment = credential.environment
    # Unbound on purpose: the top of the form may be unfinished; only its values are kept.
    form = IssuanceForm(environment=environment, initial=_posted_issuance_values(request))
    supplements = _supplements(form.chosen_rate)
    csv_form = CsvImportForm(request.POST, request.FILES, supplements=supplements)
    rows = posted_holder_rows(request.POST)
    report: dict[str, Any] | None = None
    if csv_form.is_valid():
        result = csv_form.cleaned_data["result"]
        kept = rows if csv_form.cleaned_data["csv_mode"] == "append" else []
        if len(kept) + len(result.rows) > MAX_HOLDERS:
            csv_form.add_error(
                None,
                f"That would make {len(kept) + len(result.rows)} holders; at most {MAX_HOLDERS} "
                "fit in one issuance. Nothing was imported.",
            )
        else:
            rows = kept + result.rows
            report = {
                "imported": len(result.rows),
                "errors": result.errors,
                "warnings": result.warnings,
                "data_rows": result.data_rows,
            }
    if not request.htmx:
        return _render_form(request, form=form, rows=rows, csv_form=csv_form, csv_report=report)
    formset = holder_formset(initial=rows or None, supplements=supplements)
    return render(
        request,
        "tickets/issue/_holders.html",
        {
            "formset": formset,
            "csv_form": csv_form,
            "csv_report": report,
            "has_supplements": bool(_all_supplements()),
            "max_holders": MAX_HOLDERS,
        },
    )


def _choice_form(request: HttpRequest) -> IssuanceForm | None:
    """An unbound IssuanceForm narrowed by the event/rate in the query: it holds the choices."""
    credential = credential_selectors.active_credential()
    if credential is None:
        return None
    initial = {"event": request.GET.get("event"), "rate": request.GET.get("rate")}
    return IssuanceForm(environment=credential.environment, initial=initial)


def _posted_issuance_values(request: HttpRequest) -> dict[str, Any]:
    names = IssuanceForm.base_fields
    return {name: request.POST.get(name) for name in names if request.POST.get(name)}


# --- Review and confirm ------------------------------------------------------------------------


@issue_required
@require_GET
@never_cache  # Back after confirming must ask again, and be led to the issuance
def issue_review(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
    if issued is not None:
        return _to_existing_issuance(request, issued)
    draft = load_draft(request.session, key)
    if draft is None:
        return _expired(request)
    form = _revalidated(request, draft, key)
    if form is None:
        return redirect(f"{reverse('issue-new')}?key={key}")
    return _render_review(request, key=key, draft=draft, form=form)


def _render_review(
    request: HttpRequest, *, key: uuid.UUID, draft: IssuanceDraft, form: Any
) -> HttpResponse:
    """The review of `draft`; its confirm button carries the draft's digest, so that what is
    confirmed is exactly what this page showed."""
    data = form.cleaned_data
    holders = [
        {"holder": holder, "document_masked": mask_document(holder.document_number)}
        for holder in draft.holders
    ]
    return render(
        request,
        "tickets/issue/review.html",
        {
            "key": key,
            "draft": draft,
            "reviewed": draft_digest(draft),
            "event": data["event"],
            "rate": data["rate"],
            "option": data["price_option"],
            "channel": data["channel"],
            "promoter": data["promoter"],
            "reason": data["reason"],
            "holders": holders,
            "earlier_comps": issuance_selectors.earlier_comps(
                event=data["event"], emails=[holder.email for holder in draft.holders]
            ),
            "call_count": api_call_count(len(draft.holders)),
            "tickets_per_call": settings.FOURVENUES_TICKETS_PER_CALL,
            "credential": credential_selectors.active_credential(),
        },
    )


@issue_required
@require_POST
def issue_confirm(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    # Already issued (a double click, Back + resubmit, a second tab): lead to that issuance.
    issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
    if issued is not None:
        return _to_existing_issuance(request, issued)
    draft = load_draft(request.session, key)
    if draft is None:
        return _expired(request)
    form = _revalidated(request, draft, key)
    if form is None:
        return redirect(f"{reverse('issue-new')}?key={key}")
    if not was_reviewed(draft, request.POST.get("reviewed")):
        # The session's draft is not the one this page showed (the same form re-submitted in
        # another tab): never issue what nobody reviewed; show the current draft instead.
        messages.warning(
            request, "This form was changed in another tab: review it again. Nothing was issued."
        )
        return _render_review(request, key=key, draft=draft, form=form)
    try:
        issuance, created = submit_issuance(
            idempotency_key=key, draft=draft, user=request.user, request=request
        )
    except IssuanceError as exc:
        messages.error(request, str(exc))
        return redirect("issue-review", key=key)
    # The ledger has the holders now; personal data need not linger in the session.
    discard_draft(request.session, key)
    if created:
        count = len(draft.holders)
        messages.success(request, f"Issuing {count} comp{'s' if count != 1 else ''}.")
    else:
        messages.info(request, "This form had already been submitted: here is its issuance.")
    return redirect("issuance-detail", pk=issuance.pk)


def _revalidated(request: HttpRequest, draft: IssuanceDraft, key: uuid.UUID) -> Any:
    """The draft checked again against today's catalogue, or None (with a message) if it no
    longer holds: the event passed, an option or reason was withdrawn, the credential changed."""
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        messages.error(request, problem)
        return None
    form = IssuanceForm.for_draft(draft=draft, key=key, environment=credential.environment)
    if form.is_valid():
        return form
    problems = " ".join(_issuance_errors(form))
    messages.error(request, f"The catalogue changed since this form was filled in: {problems}")
    return None


def _to_existing_issuance(request: HttpRequest, issuance: Issuance) -> HttpResponse:
    messages.info(request, "This form was already submitted: here is its issuance.")
    return redirect("issuance-detail", pk=issuance.pk)


def _expired(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request, "This form has expired (or belongs to another session): please fill it in again."
    )
    return redirect("issue-new")


# --- Small helpers -----------------------------------------------------------------------------


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _supplements(rate: Rate | None) -> list[Supplement]:
    return list(catalogue_selectors.supplements_for_rate(rate=rate))


def _all_supplements() -> list[Supplement]:
    return _supplements(None)
