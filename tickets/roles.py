"""The three roles. The groups themselves come from the 0002_roles data migration."""

ISSUER = "Issuer"
MANAGER = "Manager"
ADMIN = "Admin"

ALL_ROLES = (ISSUER, MANAGER, ADMIN)
