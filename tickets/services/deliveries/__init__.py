"""Delivery to guests: the delivery ledger (design.md, "Delivery to guests").

- `queueing`: what is written with a ticket's confirmation (its guest page, and the e-mail when
  Comps sends), and the deliberate actions of staff: resend, change the address, WhatsApp.
- `sending`: the worker's loop that hands queued messages to the mail server, once each.
- `messages`: the message itself (HTML and text, the QR embedded, the PDF attached).
- `pdf`: the ticket as a PDF, for the message and the guest page.
- `tracking`: bounces and opens reported by the mail provider's webhooks (django-anymail).
"""
