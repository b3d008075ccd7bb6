from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Comps"
    default_auto_field = "django.db.models.BigAutoField"
