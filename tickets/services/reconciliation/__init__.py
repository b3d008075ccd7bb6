"""Reconciliation: comparing an event's tickets on Fourvenues with the local mirror.

Fourvenues has no webhooks, and tickets change there after Comps issues them (checked in at the
door, refunded or cancelled in the dashboard, issued by hand). A run pages through
`GET /tickets/` for one event (every ticket, or only those updated since the previous run's
newest update) and sorts each difference:

- matched: the mirror takes Fourvenues' door and payment state (`remote_state_fields`), and
  each change is kept as a `TicketChange`;
- missing remotely: mirrored here, absent there (only a full run can tell);
- unknown locally: on Fourvenues, not here, and looking like ours (our channel or promoters, our
  `qr_code` prefix, a `payment_id` we know, a zero price on a rate we issue comps on); other
  tickets are ordinary sales and are left alone;
- drift: the same ticket with other holder details.

An open `unknown` ledger line whose ticket shows up is settled on the way (`confirm_lines`).

Nothing is written while Fourvenues is being asked: each page is compared with the local rows
for its ids and only the differences (and the ids seen) are kept; everything is applied in one
short transaction at the end. A run that fails (auth, outage, rate limit) changes nothing but its
own row, which says why.

The modules, in the order a run goes through them:

- `runs`: requesting a run and executing it (paging, then applying or failing);
- `compare`: one page of remote tickets against the local rows, in memory;
- `apply`: everything a run learnt, written in one transaction;
- `discrepancies`: what a manager does with a difference (acknowledge, adopt, re-check);
- `schedule`: the scheduled runs, and failing the runs a dead worker left behind;
- `errors`: `ReconciliationError`, the message staff read.
"""
