"""The retention page: the partnership's period, the reported rounds still holding case records and when they
go, and what each purge removed (admins and scrutineers)."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from ..accounts.models import Partnership
from ..accounts.permissions import can_manage_accounts
from ..core import clock
from ..core.permissions import Principal, allowed_or_403, can_view_history, current_principal
from ..extensions import db
from . import retention
from .views import bp


def can_view_retention(p: Principal) -> bool:
    """Admins and scrutineers, who read the access log and the audit trail."""
    return can_view_history(p)


@bp.route("/admin/retention")
@login_required
def retention_page():
    """Which reported rounds still hold case records, when they are removed, and what has been removed."""
    p = current_principal()
    allowed_or_403(can_view_retention(p))
    partnership = db.session.get(Partnership, p.partnership_id)
    return render_template(
        "case_audits/retention.html",
        months=partnership.retention_months,
        held=retention.held_rounds(partnership.id),
        purges=retention.purges(partnership.id),
        today=clock.today(),
        can_change=can_manage_accounts(p),
        describe=retention.describe,
        when=retention.when,
    )
