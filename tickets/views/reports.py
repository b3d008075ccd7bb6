"""Reports for managers: per event, issuer, promoter, reason and week, as tables and
server-drawn charts; and one event's morning-after summary.

One grouping per page (the tabs are links), so a page costs one aggregate query.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from tickets import roles
from tickets.charts import Bar, bar_chart
from tickets.forms.reports import GROUPING_TITLES, ReportFilterForm
from tickets.models import Event
from tickets.selectors import reports as report_selectors

CHART_BARS = 25  # the chart shows the first rows; the table has them all


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def reports(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request, "tickets/reports/reports.html", {"form": form, "report": None}, status=400
        )
    params = form.cleaned_data
    report = report_selectors.ticket_report(
        grouping=params["group"],
        date_from=params["date_from"],
        date_to=params["date_to"],
        environment=params["environment"],
    )
    title = GROUPING_TITLES[report.grouping]
    period = {
        "date_from": formats.date_format(params["date_from"], "DATE_FORMAT"),
        "date_to": formats.date_format(params["date_to"], "DATE_FORMAT"),
    }
    shown = report.rows[:CHART_BARS]
    chart = bar_chart(
        chart_id=f"chart-{report.grouping}",
        title=_("Tickets issued, %(grouping)s, %(date_from)s to %(date_to)s")
        % {"grouping": str(title).lower(), **period},
        description=(
            _(
                "Each bar is the number of tickets issued; its darker part, how many were "
                "checked in."
            )
            + " "
            + "; ".join(
                _("%(label)s: %(issued)s issued, %(checked_in)s checked in")
                % {
                    "label": r.label,
                    "issued": formats.localize(r.tickets, use_l10n=True),
                    "checked_in": formats.localize(r.checked_in, use_l10n=True),
                }
                for r in shown
            )
        ),
        bars=[Bar(r.label, r.tickets, r.checked_in) for r in shown],
        # Beside each bar's figure: "12 (5 in)", how many of them came in.
        inner_label=pgettext("chart: of the tickets, checked in", "in"),
    )
    tabs = []
    for grouping in report_selectors.REPORT_GROUPINGS:
        query = request.GET.copy()
        query["group"] = grouping
        tabs.append((grouping, GROUPING_TITLES[grouping], query.urlencode()))
    return render(
        request,
        "tickets/reports/reports.html",
        {
            "form": form,
            "params": params,
            "report": report,
            "title": title,
            "chart": chart,
            "chart_truncated": len(report.rows) > CHART_BARS,
            "chart_bars": CHART_BARS,
            "tabs": tabs,
        },
    )


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def event_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The event's figures, as the morning-after e-mail gives them."""
    event = get_object_or_404(Event, pk=pk)
    response = render(
        request,
        "tickets/reports/summary.html",
        {"summary": report_selectors.event_summary(event)},
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
