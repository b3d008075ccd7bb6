from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from tickets.views import (
    audit,
    catalogue,
    credentials,
    deliveries,
    exports,
    guest_pages,
    health,
    home,
    issuances,
    issue,
    language,
    mailbox,
    metrics,
    reports,
    tracking,
    users,
)
from tickets.views import reconciliation as recon
from tickets.views import search as ticket_search_views

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("language/", language.switch_language, name="switch-language"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("issue/", issue.issue_new, name="issue-new"),
    path("issue/rates/", issue.issue_rates, name="issue-rates"),
    path("issue/options/", issue.issue_options, name="issue-options"),
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
    path("admin/", admin.site.urls),
]

# A list pasted into the import beyond the request size limit gets the import's own message.
handler400 = "tickets.views.errors.bad_request"
