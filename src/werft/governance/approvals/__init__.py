"""Promotion through the use case's policy, approvals with the four-eyes rule, rollback.

``promote`` moves an alias at once where the policy is ``automatic`` (or
where no policy names the alias) and creates an approval request where it is
``approval``. Either way the version's newest gate report must have passed,
unless an admin overrides it with a written reason. ``approve`` moves the
alias in the transaction that decides the request; the requester can never
approve their own request, whatever their role. Every change is audited in
its own transaction; every alias move holds the model's row lock, so
concurrent promotions, approvals and rollbacks of one model serialise.

Who is an admin is not this module's business: the service takes an
``is_admin(user, project)`` hook answering True, False, or None for "nobody
is authenticated" (authentication off, local mode). Then — and without a
hook — anyone may override a gate, with a reason that is audited, and nobody
may decide a request the use case's approvers list does not name them for.
"""

from __future__ import annotations

from werft.governance.approvals._base import AdminCheck, authenticated_admin
from werft.governance.approvals._rows import approvals_of
from werft.governance.approvals.decisions import Decisions
from werft.governance.approvals.promotion import Promotions
from werft.governance.approvals.rollback import Rollbacks

__all__ = ["AdminCheck", "PromotionService", "approvals_of", "authenticated_admin"]


class PromotionService(Promotions, Decisions, Rollbacks):
    """Promote versions to aliases, decide approval requests, roll aliases back."""
