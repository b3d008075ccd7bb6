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
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from tickets import roles
from tickets.drafts import (
    IssuanceDraft,
    api_call_count,
    batch_warnings,
    discard_draft,
    draft_digest,
    load_draft,
    store_draft,
    was_reviewed,
    without_row,
)
from tickets.forms.holders import (
    DOCUMENT_TYPE_CHOICES,
    GENDER_CHOICES,
    HOLDER_PREFIX,
    LANGUAGE_CHOICES,
    MAX_HOLDERS,
    HolderForm,
    country_choices,
    holder_error_summary,
    holder_formset,
    holder_initial,
    holder_initial_from_line,
    posted_holder_rows,
)
from tickets.forms.holders_csv import (
    MAPPING_CHOICES,
    MAX_CSV_BYTES,
    CsvImportForm,
    CsvParseResult,
    CsvRow,
    imported_rows_formset,
)
from tickets.forms.issue import (
    IssuanceForm,
    build_draft,
    issuance_initial_from_draft,
    offered_initial,
    price_option_label,
)
from tickets.models import DeliveryMode, Event, Issuance, Promoter, Rate, Supplement
from tickets.redaction import mask_document
from tickets.selectors import allowances as allowance_selectors
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors.preferences import preferences_of
from tickets.services.issuance import IssuanceError, credential_problem, submit_issuance

issue_required = permission_required(roles.ISSUE_COMPS, raise_exception=True)

# Labels of the stored codes ("female", "passport"), shown in the page's language.
GENDERS = dict(GENDER_CHOICES[1:])
DOCUMENT_TYPES = dict(DOCUMENT_TYPE_CHOICES[1:])
LANGUAGES = dict(LANGUAGE_CHOICES)


# --- The form --------------------------------------------------------------------------------


@issue_required
@require_http_methods(["GET", "POST"])
@never_cache  # Back after issuing must ask the server again: a used key leads to its issuance
def issue_new(request: HttpRequest) -> HttpResponse:
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        # Said before the form is filled in, not after the issuer typed 50 names.
        return render(request, "tickets/issue/no_credential.html", {"problem": problem})
    environment = credential.environment
    sends = credential.fourvenues_sends_tickets
    if request.method == "POST":
        return _submit_form(request, environment, fourvenues_sends=sends)

    key = _uuid_or_none(request.GET.get("key"))
    if key is not None:
        issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
        if issued is not None:
            return _to_existing_issuance(request, issued)
        draft = load_draft(request.session, key)
        if draft is not None:
            # Back from the review page: the same form, the same key.
            form = IssuanceForm(
                environment=environment,
                fourvenues_sends=sends,
                initial=issuance_initial_from_draft(draft, key),
            )
            rows = [holder_initial(h) for h in draft.holders]
            return _render_form(request, form=form, rows=rows)
        messages.warning(request, _("That form has expired; here is a fresh one."))

    form = IssuanceForm(
        environment=environment,
        fourvenues_sends=sends,
        initial=_fresh_initial(request, environment),
    )
    return _render_form(request, form=form, rows=[])


def _fresh_initial(request: HttpRequest, environment: str) -> dict[str, Any]:
    """A fresh form's values: a new idempotency key, and the issuer's last choices where the
    form still offers them (tonight's event again, the usual rate, reason and channel)."""
    initial: dict[str, Any] = {"idempotency_key": uuid.uuid4()}
    preferences = preferences_of(request.user)
    if preferences is not None:
        initial.update(
            offered_initial(
                environment=environment,
                event_id=preferences.last_event_id,
                rate_id=preferences.last_rate_id,
                price_option_id=preferences.last_price_option_id,
                reason_id=preferences.last_reason_id,
                channel_id=preferences.last_channel_id,
                promoter_id=preferences.last_promoter_id,
            )
        )
    return initial


@issue_required
@require_GET
@never_cache
def issue_again(request: HttpRequest, pk: int) -> HttpResponse:
    """A new form holding the holders of an earlier issuance (an artist's crew, the press list),
    with its choices as defaults where still offered, under a fresh idempotency key. Only an
    issuance the person may see: their own, or any for those who see all."""
    issuance = get_object_or_404(issuance_selectors.issuances_visible_to(request.user), pk=pk)
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        return render(request, "tickets/issue/no_credential.html", {"problem": problem})
    environment = credential.environment
    initial: dict[str, Any] = {"idempotency_key": uuid.uuid4()}
    initial.update(
        offered_initial(
            environment=environment,
            event_id=issuance.event_id,
            rate_id=issuance.rate_id,
            price_option_id=issuance.price_option_id,
            reason_id=issuance.reason_id,
            channel_id=issuance.channel_id,
            promoter_id=issuance.promoter_id,
        )
    )
    if issuance.note:
        initial["note"] = issuance.note
    # The same way to the guests, when the credential still offers it (else the form's default).
    initial["delivery_mode"] = issuance.delivery_mode
    rows = [holder_initial_from_line(line) for line in issuance_selectors.lines_of(issuance)]
    form = IssuanceForm(
        environment=environment,
        fourvenues_sends=credential.fourvenues_sends_tickets,
        initial=initial,
    )
    messages.info(
        request,
        ngettext(
            "One holder copied from issuance #%(pk)s: check it, then review.",
            "%(count)s holders copied from issuance #%(pk)s: check them, then review.",
            len(rows),
        )
        % {"count": len(rows), "pk": issuance.pk},
    )
    return _render_form(request, form=form, rows=rows)


def _submit_form(request: HttpRequest, environment: str, *, fourvenues_sends: bool) -> HttpResponse:
    form = IssuanceForm(
        environment=environment, fourvenues_sends=fourvenues_sends, data=request.POST
    )
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
        **_allowances_left(
            request,
            event=form.chosen_event,
            rate=form.chosen_rate,
            promoter=_chosen_promoter(form, form.data if form.is_bound else form.initial),
        ),
    }
    return render(request, "tickets/issue/form.html", context, status=status)


def _issuance_errors(form: IssuanceForm) -> list[str]:
    """ "Event: This field is required." for each error of the top of the form."""
    lines = []
    for name, errors in form.errors.items():
        label = "" if name == NON_FIELD_ERRORS else _("%(field)s: ") % {"field": form[name].label}
        lines.extend(f"{label}{error}" for error in errors)
    return lines


# --- htmx partials: the choices follow the event and rate; rows come and go ------------------


@issue_required
@require_GET
def issue_rates(request: HttpRequest) -> HttpResponse:
    """The rate <option>s of the chosen event (and the price options reset)."""
    form = _choice_form(request)
    if form is None:
        return HttpResponseBadRequest(_("No active Fourvenues credential."))
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
        return HttpResponseBadRequest(_("No active Fourvenues credential."))
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
def issue_allowances(request: HttpRequest) -> HttpResponse:
    """What is left of the issuer's allowances for the chosen event, rate and promoter."""
    form = _choice_form(request)
    if form is None:
        return HttpResponseBadRequest(_("No active Fourvenues credential."))
    context = _allowances_left(
        request,
        event=form.chosen_event,
        rate=form.chosen_rate,
        promoter=_chosen_promoter(form, request.GET),
    )
    return render(request, "tickets/issue/_allowances.html", context)


def _chosen_promoter(form: IssuanceForm, values: Any) -> Promoter | None:
    """The promoter picked, when the comps are attributed to one (else their allowance is not
    this issuance's)."""
    if values.get("attribution") != "promoter":
        return None
    raw = values.get("promoter")
    raw = getattr(raw, "pk", raw)
    if not str(raw or "").isdigit():
        return None
    return form.fields["promoter"].queryset.filter(pk=int(raw)).first()


def _allowances_left(
    request: HttpRequest, *, event: Event | None, rate: Rate | None, promoter: Promoter | None
) -> dict[str, Any]:
    usages = (
        allowance_selectors.left_for(user=request.user, event=event, rate=rate, promoter=promoter)
        if event is not None
        else []
    )
    return {"allowance_event": event, "allowance_usages": usages}


@issue_required
@require_GET
def issue_row(request: HttpRequest) -> HttpResponse:
    """One empty holder row, numbered `index` (the current number of rows)."""
    raw_index = request.GET.get("index", request.GET.get("holders-TOTAL_FORMS", ""))
    try:
        index = int(raw_index)
    except ValueError:
        return HttpResponseBadRequest(_("The row number must be a number."))
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
    """Fill the rows from a pasted or uploaded list (replacing them, or after them).

    Posted with the whole form, so the rows already typed can be kept; answers the holder
    section for htmx, or the whole page when JavaScript is off. Every row read becomes a form
    row: one with a problem shows its values and its errors at once, to be fixed in place. A
    header the product does not know is answered with the mapping step, the rows untouched.
    """
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        # Said before the form is filled in, not after the issuer typed 50 names.
        return render(request, "tickets/issue/no_credential.html", {"problem": problem})
    environment = credential.environment
    # Unbound on purpose: the top of the form may be unfinished; only its values are kept.
    form = IssuanceForm(
        environment=environment,
        fourvenues_sends=credential.fourvenues_sends_tickets,
        initial=_posted_issuance_values(request),
    )
    supplements = _supplements(form.chosen_rate)
    csv_form = CsvImportForm(request.POST, request.FILES, supplements=supplements)
    rows = posted_holder_rows(request.POST)
    report: dict[str, Any] | None = None
    bad: dict[int, CsvRow] = {}
    if csv_form.is_valid():
        result: CsvParseResult = csv_form.cleaned_data["result"]
        kept = rows if csv_form.cleaned_data["csv_mode"] == "append" else []
        if result.needs_mapping or not result.rows:
            # Nothing read (a header to map, an empty or unreadable list): the rows stay.
            report = _import_report(result, offset=len(rows))
            if result.needs_mapping and csv_form.cleaned_data.get("csv_file") and not request.htmx:
                # Without JavaScript the file input comes back empty: the text read travels in
                # the text box instead, for the import with the chosen columns.
                data = request.POST.copy()
                data["csv_text"] = csv_form.cleaned_data["text"]
                csv_form = CsvImportForm(data, supplements=supplements)
        elif len(kept) + len(result.rows) > MAX_HOLDERS:
            csv_form.add_error(
                None,
                _(
                    "That would make %(count)s holders; at most %(max)s fit in one issuance. "
                    "Nothing was imported."
                )
                % {"count": len(kept) + len(result.rows), "max": MAX_HOLDERS},
            )
        else:
            rows = kept + [row.values for row in result.rows]
            bad = {len(kept) + i: row for i, row in enumerate(result.rows) if not row.valid}
            report = _import_report(result, offset=len(kept))
    formset = imported_rows_formset(rows, bad, supplements=supplements)
    if not request.htmx:
        return _render_form(
            request, form=form, formset=formset, csv_form=csv_form, csv_report=report
        )
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


def _import_report(result: CsvParseResult, *, offset: int) -> dict[str, Any]:
    """What the import says above the rows; `offset`: the rows kept before the imported ones."""
    return {
        "read": len(result.rows),
        "imported": result.imported,
        "bad": [
            {
                "number": offset + i + 1,
                "index": offset + i,
                "line": row.line,
                "errors": [error.message for error in row.errors],
            }
            for i, row in enumerate(result.rows)
            if not row.valid
        ],
        "errors": result.errors,
        "warnings": result.warnings,
        "has_header": result.has_header,
        "columns": result.columns,
        "header_key": result.header_key,
        "mapping_choices": MAPPING_CHOICES,
    }


def import_too_big(request: HttpRequest) -> HttpResponse:
    """The answer to an import over Django's request size limit (DATA_UPLOAD_MAX_MEMORY_SIZE),
    given by `tickets.views.errors.bad_request` instead of a bare "Bad Request (400)"."""
    context = {"limit_mb": MAX_CSV_BYTES // (1024 * 1024)}
    if request.headers.get("HX-Request") == "true":
        # htmx swaps only 2xx answers: the message goes above the rows, which stay as typed.
        response = render(request, "tickets/issue/_import_too_big.html", context)
        return reswap(retarget(response, "#import-report"), "innerHTML")
    return render(request, "tickets/issue/_import_too_big_page.html", context, status=413)


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
    reviewed = _reviewed_draft(request, key)
    if isinstance(reviewed, HttpResponse):
        return reviewed
    draft, form = reviewed
    return _render_review(request, key=key, draft=draft, form=form)


def _render_review(
    request: HttpRequest,
    *,
    key: uuid.UUID,
    draft: IssuanceDraft,
    form: IssuanceForm,
    cut_off_override_reason: str = "",
) -> HttpResponse:
    """The review of `draft`; its confirm button carries the draft's digest, so that what is
    confirmed is exactly what this page showed."""
    data = form.cleaned_data
    # Worked out again for what is shown (a row may have been removed since the form).
    warnings = batch_warnings(draft.holders, data["price_option"], data["event"])
    earlier = issuance_selectors.earlier_comps(
        event=data["event"], emails=[holder.email for holder in draft.holders]
    )
    rows_by_email: dict[str, list[int]] = {}
    for number, holder in enumerate(draft.holders, start=1):
        rows_by_email.setdefault(holder.email, []).append(number)
    earlier_comps = [{"earlier": e, "rows": rows_by_email.get(e.email, [])} for e in earlier]
    flagged = {w.row for w in warnings} | {n for e in earlier_comps for n in e["rows"]}
    forecast = allowance_selectors.forecast(
        user=request.user,
        event=data["event"],
        rate=data["rate"],
        promoter=data["promoter"],
        price=data["price_option"].price,
        holders=len(draft.holders),
    )
    holders = [
        {
            "number": number,
            "holder": holder,
            "document_masked": mask_document(holder.document_number),
            "gender": GENDERS.get(holder.gender, holder.gender),
            "document_type": DOCUMENT_TYPES.get(holder.document_type, holder.document_type),
            "language": LANGUAGES.get(holder.language or settings.LANGUAGE_CODE, holder.language),
            "flagged": number in flagged,
        }
        for number, holder in enumerate(draft.holders, start=1)
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
            "delivery_mode": DeliveryMode(draft.delivery_mode).label,
            "holders": holders,
            "warnings": warnings,
            "earlier_comps": earlier_comps,
            "call_count": api_call_count(len(draft.holders)),
            "tickets_per_call": settings.FOURVENUES_TICKETS_PER_CALL,
            "credential": credential_selectors.active_credential(),
            "forecast": forecast,
            "may_override_cut_off": request.user.has_perm(roles.MANAGE_ALLOWANCES),
            "cut_off_override_reason": cut_off_override_reason,
        },
    )


@issue_required
@require_POST
def issue_confirm(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    reviewed = _reviewed_draft(request, key)
    if isinstance(reviewed, HttpResponse):
        return reviewed
    draft, form = reviewed
    if not was_reviewed(draft, request.POST.get("reviewed")):
        # The session's draft is not the one this page showed (the same form re-submitted in
        # another tab): never issue what nobody reviewed; show the current draft instead.
        messages.warning(
            request,
            _("This form was changed in another tab: review it again. Nothing was issued."),
        )
        return _render_review(request, key=key, draft=draft, form=form)
    override_reason = request.POST.get("cut_off_override_reason", "")
    try:
        issuance, created = submit_issuance(
            idempotency_key=key,
            draft=draft,
            user=request.user,
            request=request,
            cut_off_override_reason=override_reason,
        )
    except IssuanceError as exc:
        messages.error(request, str(exc))
        if override_reason.strip():
            # The reason typed stays in its field (a redirect would drop it).
            return _render_review(
                request, key=key, draft=draft, form=form, cut_off_override_reason=override_reason
            )
        return redirect("issue-review", key=key)
    # The ledger has the holders now; personal data need not linger in the session.
    discard_draft(request.session, key)
    # No flash when created: the issuance page's progress panel says what is happening, and a
    # green "Issuing 2 comps." would stay above "Completed with failures".
    if not created:
        messages.info(request, _("This form had already been submitted: here is its issuance."))
    return redirect("issuance-detail", pk=issuance.pk)


@issue_required
@require_POST
def issue_review_remove(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    """Drop one holder from the draft, from the review page itself (a duplicate, a guest under
    age), and show the review again. The row number is the one the posted review showed: the
    page's digest must match the draft, so a row is never removed from a draft nobody saw."""
    reviewed = _reviewed_draft(request, key)
    if isinstance(reviewed, HttpResponse):
        return reviewed
    draft, form = reviewed
    if not was_reviewed(draft, request.POST.get("reviewed")):
        messages.warning(
            request,
            _("This form was changed in another tab: review it again. Nothing was removed."),
        )
        return redirect("issue-review", key=key)
    try:
        row = int(request.POST.get("row", ""))
    except ValueError:
        row = 0
    if not 1 <= row <= len(draft.holders):
        messages.error(request, _("There is no such row to remove. Nothing was removed."))
        return redirect("issue-review", key=key)
    if len(draft.holders) == 1:
        messages.error(
            request,
            _("This is the only holder, so it cannot be removed: go back to edit the form."),
        )
        return redirect("issue-review", key=key)
    removed = draft.holders[row - 1]
    data = form.cleaned_data
    store_draft(
        request.session,
        key,
        without_row(draft, row, price_option=data["price_option"], event=data["event"]),
    )
    messages.success(
        request,
        _("Row %(row)s (%(name)s) was removed; the rows below it moved up.")
        % {"row": row, "name": removed.full_name},
    )
    return redirect("issue-review", key=key)


def _reviewed_draft(
    request: HttpRequest, key: uuid.UUID
) -> tuple[IssuanceDraft, IssuanceForm] | HttpResponse:
    """The draft a review page shows or posted about, still valid against today's catalogue,
    or where to go instead: its issuance if it was already issued (a double click, Back and
    resubmit, a second tab), a fresh form if it expired, the form if the catalogue changed."""
    issued = issuance_selectors.issuance_by_key(key=key, user=request.user)
    if issued is not None:
        return _to_existing_issuance(request, issued)
    draft = load_draft(request.session, key)
    if draft is None:
        return _expired(request)
    form = _revalidated(request, draft, key)
    if form is None:
        return redirect(f"{reverse('issue-new')}?key={key}")
    return draft, form


def _revalidated(request: HttpRequest, draft: IssuanceDraft, key: uuid.UUID) -> IssuanceForm | None:
    """The draft checked again against today's catalogue, or None (with a message) if it no
    longer holds: the event passed, an option or reason was withdrawn, the credential changed."""
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        messages.error(request, problem)
        return None
    form = IssuanceForm.for_draft(
        draft=draft,
        key=key,
        environment=credential.environment,
        fourvenues_sends=credential.fourvenues_sends_tickets,
    )
    if form.is_valid():
        return form
    problems = " ".join(_issuance_errors(form))
    messages.error(
        request,
        _("The catalogue changed since this form was filled in: %(problems)s")
        % {"problems": problems},
    )
    return None


def _to_existing_issuance(request: HttpRequest, issuance: Issuance) -> HttpResponse:
    messages.info(request, _("This form was already submitted: here is its issuance."))
    return redirect("issuance-detail", pk=issuance.pk)


def _expired(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request,
        _("This form has expired (or belongs to another session): please fill it in again."),
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
