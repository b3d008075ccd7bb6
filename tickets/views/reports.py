"""Reports for managers: per event, issuer, reason and week, as tables and server-drawn charts.

One grouping per page (the tabs are links), so a page costs one aggregate query.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets import roles
from tickets.charts import Bar, bar_chart
from tickets.forms.reports import GROUPING_TITLES, ReportFilterForm
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
    chart = bar_chart(
        chart_id=f"chart-{report.grouping}",
        title=f"Tickets issued {title.lower()}, {params['date_from']:%d %b %Y} to "
        f"{params['date_to']:%d %b %Y}",
        description=(
            "Each bar is the number of tickets issued; its darker part, how many were checked "
            "in. "
            + "; ".join(
                f"{r.label}: {r.tickets} issued, {r.checked_in} checked in"
                for r in report.rows[:CHART_BARS]
            )
        ),
        bars=[Bar(r.label, r.tickets, r.checked_in) for r in report.rows[:CHART_BARS]],
        inner_label="in",
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
