from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from tickets.views import allowances as allowance_views
from tickets.views import (
    approvals,
    audit,
    catalogue,
    credentials,
    deliveries,
    door,
    exports,
    guest_pages,
    health,
    home,
    issuances,
    issue,
    language,
    mailbox,
    metrics,
    policies,
    reports,
    tracking,
    two_factor,
    users,
)
from tickets.views import export_jobs as export_job_views
from tickets.views import purge as purge_views
from tickets.views import reconciliation as recon
from tickets.views import search as ticket_search_views
from tickets.views import withdrawals as withdrawal_views

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("language/", language.switch_language, name="switch-language"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Two-factor sign-in (managers and admins): the code after the password, setting it up,
    # the person's own page and new recovery codes.
    path("accounts/two-factor/", two_factor.two_factor_settings, name="two-factor"),
    path("accounts/two-factor/verify/", two_factor.two_factor_verify, name="two-factor-verify"),
    path("accounts/two-factor/set-up/", two_factor.two_factor_enrol, name="two-factor-enrol"),
    path(
        "accounts/two-factor/recovery-codes/",
        two_factor.two_factor_recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("issue/", issue.issue_new, name="issue-new"),
    path("issue/rates/", issue.issue_rates, name="issue-rates"),
    path("issue/options/", issue.issue_options, name="issue-options"),
    path("issue/allowances/", issue.issue_allowances, name="issue-allowances"),
    path("issue/row/", issue.issue_row, name="issue-row"),
    path("issue/import/", issue.issue_import, name="issue-import"),
    path("issue/<uuid:key>/review/", issue.issue_review, name="issue-review"),
    path("issue/<uuid:key>/confirm/", issue.issue_confirm, name="issue-confirm"),
    path("issue/<uuid:key>/remove/", issue.issue_review_remove, name="issue-review-remove"),
    path("issue/again/<int:pk>/", issue.issue_again, name="issue-again"),
    path("issuances/", issuances.issuance_list, name="issuance-list"),
    path("issuances/<int:pk>/", issuances.issuance_detail, name="issuance-detail"),
    path("issuances/<int:pk>/progress/", issuances.issuance_progress, name="issuance-progress"),
    path("issuances/<int:pk>/resolve/", issuances.issuance_resolve, name="issuance-resolve"),
    path("issuances/<int:pk>/codes.csv", issuances.issuance_codes_csv, name="issuance-codes-csv"),
    path("issuances/<int:pk>/print/", issuances.issuance_print, name="issuance-print"),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/retry/",
        issuances.issuance_line_retry,
        name="issuance-line-retry",
    ),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/qr.svg",
        issuances.issuance_line_qr,
        name="issuance-line-qr",
    ),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/card/",
        issuances.issuance_line_card,
        name="issuance-line-card",
    ),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/resend/",
        deliveries.line_resend,
        name="issuance-line-resend",
    ),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/email/",
        deliveries.line_change_email,
        name="issuance-line-email",
    ),
    path(
        "issuances/<int:pk>/lines/<int:line_pk>/whatsapp/",
        deliveries.line_whatsapp,
        name="issuance-line-whatsapp",
    ),
    path(
        "issuances/<int:pk>/resend-failed/",
        deliveries.resend_failed,
        name="issuance-resend-failed",
    ),
    path("issuances/<int:pk>/whatsapp/", deliveries.whatsapp_all, name="issuance-whatsapp"),
    # The guests' own pages: no login, reached by a signed link.
    path("g/<str:token>/", guest_pages.guest_page, name="guest-page"),
    path("g/<str:token>/ticket.pdf", guest_pages.guest_page_pdf, name="guest-page-pdf"),
    path("g/<str:token>/qr.svg", guest_pages.guest_page_qr, name="guest-page-qr"),
    # What the local mail server received (`make run`, training only).
    path("training/mailbox/", mailbox.mailbox, name="mailbox"),
    path("training/mailbox/<str:key>/", mailbox.mailbox_message, name="mailbox-message"),
    # Bounces and opens from the mail provider (django-anymail, signature verified).
    path("anymail/mailgun/tracking/", tracking.mailgun_tracking, name="mail-tracking-mailgun"),
    path("catalogue/refresh/", catalogue.refresh_catalogue_view, name="catalogue-refresh"),
    path("catalogue/status/", catalogue.catalogue_status, name="catalogue-status"),
    path("tickets/", ticket_search_views.ticket_search, name="ticket-search"),
    path("tickets/export/", exports.ticket_export, name="ticket-export"),
    # Large exports, prepared in the background (each person sees only their own).
    path("tickets/exports/", export_job_views.export_job_list, name="export-job-list"),
    path("tickets/exports/new/", export_job_views.export_job_create, name="export-job-create"),
    path("tickets/exports/<int:pk>/", export_job_views.export_job_detail, name="export-job-detail"),
    path(
        "tickets/exports/<int:pk>/status/",
        export_job_views.export_job_status,
        name="export-job-status",
    ),
    path(
        "tickets/exports/<int:pk>/download/",
        export_job_views.export_job_download,
        name="export-job-download",
    ),
    path(
        "tickets/by-document/",
        ticket_search_views.ticket_search_by_document,
        name="ticket-search-document",
    ),
    path(
        "tickets/saved/<int:pk>/", ticket_search_views.saved_search_open, name="saved-search-open"
    ),
    path("tickets/saved/", ticket_search_views.saved_search_save, name="saved-search-save"),
    path(
        "tickets/saved/<int:pk>/delete/",
        ticket_search_views.saved_search_delete,
        name="saved-search-delete",
    ),
    path("tickets/<int:pk>/", ticket_search_views.ticket_detail, name="ticket-detail"),
    path(
        "tickets/<int:pk>/document/",
        ticket_search_views.ticket_document_reveal,
        name="ticket-document-reveal",
    ),
    path("reports/", reports.reports, name="reports"),
    # Allowances and groups of issuers (tickets/views/allowances.py)
    path("allowances/", allowance_views.allowance_list, name="allowance-list"),
    path("allowances/new/", allowance_views.allowance_new, name="allowance-new"),
    path("allowances/<int:pk>/", allowance_views.allowance_edit, name="allowance-edit"),
    path("allowances/<int:pk>/delete/", allowance_views.allowance_delete, name="allowance-delete"),
    path("allowances/groups/new/", allowance_views.issuer_group_new, name="issuer-group-new"),
    path(
        "allowances/groups/<int:pk>/", allowance_views.issuer_group_edit, name="issuer-group-edit"
    ),
    path(
        "allowances/groups/<int:pk>/delete/",
        allowance_views.issuer_group_delete,
        name="issuer-group-delete",
    ),
    # Withdrawing comps: the form per ticket, trying a failed one again, the managers' list.
    path("withdrawals/", withdrawal_views.withdrawal_list, name="withdrawal-list"),
    path(
        "withdrawals/tickets/<int:pk>/",
        withdrawal_views.ticket_withdraw,
        name="ticket-withdraw",
    ),
    path(
        "withdrawals/tickets/<int:pk>/retry/",
        withdrawal_views.withdrawal_retry,
        name="withdrawal-retry",
    ),
    path("reports/events/<int:pk>/summary/", reports.event_summary, name="event-summary"),
    # Managers at the door: the door list (page, CSV, PDF) and the lookup for a phone.
    path("door/", door.door_lookup, name="door-lookup"),
    path("door/events/<int:pk>/", door.door_list, name="door-list"),
    path("door/events/<int:pk>/door-list.csv", door.door_list_csv, name="door-list-csv"),
    path("door/events/<int:pk>/door-list.pdf", door.door_list_pdf, name="door-list-pdf"),
    # Managers: approving comps that wait (four eyes), and the rules they set.
    path("approvals/", approvals.approval_queue, name="approval-queue"),
    path("approvals/decide/", approvals.approval_decide, name="approval-decide"),
    path(
        "approvals/issuances/<int:pk>/decide/",
        approvals.approval_decide_issuance,
        name="approval-decide-issuance",
    ),
    path("rules/", policies.policies, name="policies"),
    path("rules/events/<int:pk>/", policies.policy_event, name="policy-event"),
    # Admins: credentials, users and roles, the audit log.
    path("credentials/", credentials.credential_list, name="credential-list"),
    path("credentials/new/", credentials.credential_new, name="credential-new"),
    path("credentials/<int:pk>/", credentials.credential_detail, name="credential-detail"),
    path("credentials/<int:pk>/test/", credentials.credential_test, name="credential-test"),
    path(
        "credentials/<int:pk>/active/",
        credentials.credential_set_active,
        name="credential-active",
    ),
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_new, name="user-new"),
    path("users/<int:pk>/", users.user_detail, name="user-detail"),
    path("users/<int:pk>/role/", users.user_set_role, name="user-role"),
    path("users/<int:pk>/active/", users.user_set_active, name="user-active"),
    path("users/<int:pk>/password/", users.user_reset_password, name="user-password"),
    path("users/<int:pk>/unlock/", users.user_unlock, name="user-unlock"),
    path(
        "users/<int:pk>/two-factor/reset/",
        users.user_two_factor_reset,
        name="user-two-factor-reset",
    ),
    path("audit/", audit.audit_log, name="audit-log"),
    path("reconciliation/", recon.reconciliation_overview, name="reconciliation"),
    path(
        "reconciliation/events/<int:pk>/", recon.reconciliation_event, name="reconciliation-event"
    ),
    path(
        "reconciliation/events/<int:pk>/start/",
        recon.reconciliation_start,
        name="reconciliation-start",
    ),
    path("reconciliation/runs/", recon.reconciliation_runs, name="reconciliation-runs"),
    path("reconciliation/discrepancies/", recon.discrepancy_queue, name="discrepancy-queue"),
    path(
        "reconciliation/discrepancies/acknowledge/",
        recon.discrepancy_acknowledge,
        name="discrepancy-acknowledge",
    ),
    path(
        "reconciliation/discrepancies/<int:pk>/adopt/",
        recon.discrepancy_adopt,
        name="discrepancy-adopt",
    ),
    path(
        "reconciliation/discrepancies/<int:pk>/recheck/",
        recon.discrepancy_recheck,
        name="discrepancy-recheck",
    ),
    # Managers: holders' personal data still held per event, and "remove now".
    path("personal-data/", purge_views.purge_overview, name="purge"),
    path("personal-data/events/<int:pk>/", purge_views.purge_event_now, name="purge-event"),
    path("admin/", admin.site.urls),
]

# A list pasted into the import beyond the request size limit gets the import's own message.
handler400 = "tickets.views.errors.bad_request"
