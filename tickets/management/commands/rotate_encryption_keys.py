"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand

from tickets.services.credentials import rotate_encryption


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (API keys, their history, document numbers) with the "
        "first key of FIELD_ENCRYPTION_KEYS. Put the new key first, keep the old ones after it, "
        "run this, then remove the old ones."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = rotate_encryption()
        for label, count in rotated.items():
            self.stdout.write(f"{label}: {count} value{'s' if count != 1 else ''} re-encrypted")
        self.stdout.write(self.style.SUCCESS("Every secret is now encrypted with the first key."))
