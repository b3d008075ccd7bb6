"""The three roles. The groups themselves come from the 0002_roles data migration."""

ISSUER = "Issuer"
MANAGER = "Manager"
ADMIN = "Admin"

ALL_ROLES = (ISSUER, MANAGER, ADMIN)

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
