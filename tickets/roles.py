"""The three roles. The groups themselves come from the 0002_roles data migration."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ISSUER = "Issuer"
MANAGER = "Manager"
ADMIN = "Admin"

ALL_ROLES = (ISSUER, MANAGER, ADMIN)

# The groups' names are data (and the code's keys); people read these, in their language.
ROLE_LABELS: dict[str, Promise] = {ISSUER: _("Issuer"), MANAGER: _("Manager"), ADMIN: _("Admin")}


def role_label(role: str) -> str:
    """A role's name as people read it; a group that is not a role keeps its own name."""
    return str(ROLE_LABELS.get(role, role))


# What the roles may do, as `user.has_perm` names it (the codenames live on the models; the
# migrations grant them to the roles). Code asks by these names, never by a string of its own.
ISSUE_COMPS = "tickets.issue_comps"
VIEW_ALL_ISSUANCES = "tickets.view_all_issuances"
REFRESH_CATALOGUE = "tickets.refresh_catalogue"
VIEW_DOCUMENT_NUMBERS = "tickets.view_document_numbers"
RECONCILE_TICKETS = "tickets.reconcile_tickets"
MANAGE_CREDENTIALS = "tickets.manage_credentials"
MANAGE_USERS = "tickets.manage_users"
VIEW_AUDIT_LOG = "tickets.view_audit_log"
MANAGE_ALLOWANCES = "tickets.manage_allowances"
APPROVE_ISSUANCES = "tickets.approve_issuances"
WITHDRAW_TICKETS = "tickets.withdraw_tickets"
PURGE_PERSONAL_DATA = "tickets.purge_personal_data"
