"""Helpers for the migrations that give roles their permissions (a leading underscore keeps the
migration loader from taking this module for a migration)."""

from django.contrib.auth.management import create_permissions


def create_all_permissions(apps):
    """Permissions are normally created after every migration has run; make them exist now."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def tickets_permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)


def grant(apps, role_permissions):
    """Give each role (a Group, created if missing) the tickets permissions listed for it."""
    create_all_permissions(apps)
    Group = apps.get_model("auth", "Group")
    for role, codenames in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*tickets_permissions(apps, codenames))


def revoke(apps, role_permissions):
    Group = apps.get_model("auth", "Group")
    for role, codenames in role_permissions.items():
        group = Group.objects.filter(name=role).first()
        if group is not None:
            group.permissions.remove(*tickets_permissions(apps, codenames))
