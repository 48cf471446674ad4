"""The demo's composite action plan (`flask demo load`): about 40 actions under 12 recommendations.

The recommendations come from the demo's CSE rounds (the chair's report of each reported round, promoted, and
two of the panel's case recommendations) and from other sources (an inspection, a board challenge, the annual
report). The actions are in every status and RAG rating, some overdue, some with moved due dates, progress
updates and evidence of impact (accepted with a measure before and after, one not accepted, one awaiting the QA
group). Dates count from the clock's today, so the plan always has something overdue and something due soon.

Everything is built through the services, as the demo's people. Texts are written out one by one, so no
sentence repeats across the plan.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Agency, PartnershipAgency, User
from ..case_audits.models import CaseJudgement, ReportRecommendation
from ..core import clock
from ..core.demo import Demo, register_demo_step
from ..extensions import db
from ..rounds.models import Round
from . import services
from .models import Action, ActionStatus, Recommendation

PAST_ROUND = "CSE multi-agency case audit, autumn 2025"
REAUDIT_ROUND = "CSE re-audit, spring 2026"

AGENCY_NAMES = {
    "police": "Northbridge and Eastvale Police (North BCU)",
    "csc": "Northbridge Council Children's Social Care",
    "nuh": "Northbridge University Hospitals NHS Trust",
    "rch": "Riverside Community Health NHS Trust",
    "mh": "North Central Mental Health NHS Foundation Trust",
    "icb": "Northbridge and Eastvale Integrated Care Board",
    "stannes": "St Anne's Church of England Primary School",
    "academy": "Northbridge Academy",
    "oaks": "Little Oaks Children's Centre",
    "probation": "Probation Service, Northbridge Delivery Unit",
    "yjs": "Northbridge Youth Justice Service",
    "safehaven": "Safe Haven Domestic Abuse Service",
    "homes": "Northbridge Homes",
}

#: the demo's people who own actions, by the key the plan below uses
PEOPLE = {
    "admin": "admin@northbridge.example.org",
    "qa": "qa@northbridge.example.org",
    "lead": "lead.police@northbridge.example.org",
    "health": "auditor.health@northbridge.example.org",
    "police": "auditor.police@northbridge.example.org",
    "scrutineer": "scrutineer@northbridge.example.org",
}


@dataclass
class Ev:
    """A piece of evidence of impact; ``decision`` is "accept", "reject" or "" (awaiting the QA group)."""

    text: str
    decision: str = "accept"
    note: str = ""
    measure: str = ""
    unit: str = ""
    before: str = ""
    after: str = ""
    #: days before today the measures were taken
    before_ago: int | None = None
    after_ago: int | None = None
    file: tuple[str, str] | None = None


@dataclass
class Act:
    """An action: its owner (a demo person's key, or a named person), due date in days from today, and story."""

    title: str
    owner: str
    agency: str | None
    due: int
    #: "not_started", "in_progress", "complete" or "closed"
    state: str = "not_started"
    rag: str = "green"
    #: the first agreed date (days from today) and why it moved to ``due``
    moved: tuple[int, str] | None = None
    #: (days ago, RAG, note), oldest first
    updates: list[tuple[int, str, str]] = field(default_factory=list)
    evidence: list[Ev] = field(default_factory=list)
    closure: str = ""
    #: the note of the update that completes or closes it
    final_note: str = ""


@dataclass
class Rec:
    """A recommendation: ``source`` is ("report", round key, number), ("case", round key, index) or ("other",
    description, text)."""

    source: tuple[Any, ...]
    themes: list[str]
    agencies: list[str]
    actions: list[Act]
    tested_by_reaudit: bool = False


PLAN: list[Rec] = [
    Rec(
        ("report", "past", 1),
        ["Voice of the child", "Recording"],
        ["police", "csc", "nuh", "academy", "yjs"],
        [
            Act(
                "Add an 'in the child's own words' box to the CSC assessment and review templates",
                "Marcia Thompson, Head of Service",
                "csc",
                -150,
                state="complete",
                updates=[
                    (200, "green", "Template change specified with the Liquidlogic team; build booked for January."),
                    (160, "green", "New box live in test. Team managers have seen it at the service meeting."),
                ],
                evidence=[
                    Ev(
                        "A dip sample of assessments completed after the change: most now quote the young person "
                        "directly, and two managers have returned assessments that did not.",
                        measure="Assessments quoting the child's own words",
                        unit="%",
                        before="18",
                        after="71",
                        before_ago=330,
                        after_ago=120,
                    )
                ],
                final_note="Template live for all teams since February and the dip sample shows it is used.",
            ),
            Act(
                "Brief response officers on recording what the young person says at the first contact",
                "lead",
                "police",
                -95,
                state="complete",
                updates=[(130, "amber", "Briefing written; shift patterns mean two teams still to receive it.")],
                evidence=[
                    Ev(
                        "Exploitation Hub review of 40 missing-person reports: the young person's account is now "
                        "recorded in the officer's words and theirs, not only as 'no disclosure'.",
                        measure="Missing-person reports with the child's account recorded",
                        unit="%",
                        before="35",
                        after="64",
                        before_ago=300,
                        after_ago=100,
                        file=(
                            "hub-dip-sample-summary.txt",
                            "Exploitation Hub dip sample\n40 reports reviewed; 26 record the young person's "
                            "account in their words.\n",
                        ),
                    )
                ],
                final_note="All four response teams briefed; the Hub keeps the check in its monthly sample.",
            ),
            Act(
                "Named nurses check for the child's voice in safeguarding supervision with ED and paediatric staff",
                "health",
                "nuh",
                -20,
                state="in_progress",
                rag="amber",
                moved=(-60, "Named nurse on long-term sick leave; cover agreed from the community trust."),
                updates=[
                    (90, "green", "Supervision prompt sheet drafted with the named doctor."),
                    (40, "amber", "Only one named nurse in post until the vacancy is filled; sessions halved."),
                    (12, "amber", "Cover in place from next month; supervision log shows 9 of 15 sessions held."),
                ],
            ),
            Act(
                "Youth justice and education leads agree one shared prompt for recording the young person's views",
                "Priya Shah, Youth Justice Service Manager",
                "yjs",
                45,
                state="in_progress",
                updates=[(25, "green", "First meeting held with the academy's DSL; draft wording circulated.")],
            ),
        ],
        tested_by_reaudit=True,
    ),
    Rec(
        ("report", "past", 2),
        ["Information sharing", "Think family"],
        ["csc", "nuh", "rch", "icb"],
        [
            Act(
                "Add the named health professional to the strategy discussion invitation list",
                "Marcia Thompson, Head of Service",
                "csc",
                -240,
                state="complete",
                updates=[(250, "green", "MASH business support have the new distribution list.")],
                evidence=[
                    Ev(
                        "Health attended 17 of the 21 exploitation strategy discussions in the last quarter, against "
                        "7 of 19 in the quarter the audit looked at.",
                        measure="Strategy discussions with health present",
                        unit="%",
                        before="37",
                        after="81",
                        before_ago=400,
                        after_ago=200,
                    )
                ],
                final_note="In place since December; attendance reported quarterly to the group.",
            ),
            Act(
                "Business unit reports health attendance at strategy discussions each quarter",
                "qa",
                None,
                30,
                state="in_progress",
                updates=[
                    (150, "green", "First quarterly figures reported to the Learning from Practice Group."),
                    (60, "green", "Second report: attendance holding above 75 per cent."),
                ],
            ),
            Act(
                "GP practices get a same-day route to join exploitation strategy discussions",
                "Dr Fiona Carter, Named GP for Safeguarding",
                "icb",
                -35,
                state="in_progress",
                rag="red",
                updates=[
                    (80, "amber", "Practice managers' forum supports the idea; IT routing not yet agreed."),
                    (20, "red", "Telephony change blocked by the practices' contract renewal; escalated to the ICB."),
                ],
            ),
            Act(
                "Community health visitors share chronologies ahead of the strategy discussion",
                "Ruth Okonjo, Safeguarding Lead Nurse",
                "rch",
                -5,
                state="not_started",
                rag="amber",
                updates=[
                    (
                        30,
                        "amber",
                        "Go-live of the new record slipped again; the sharing route is ready once it is live.",
                    )
                ],
                moved=(-70, "Waiting for the new electronic record to go live in the community trust."),
            ),
        ],
        tested_by_reaudit=True,
    ),
    Rec(
        ("report", "past", 3),
        ["Management oversight and supervision"],
        ["police", "csc", "nuh", "academy", "yjs", "safehaven"],
        [
            Act(
                "Audit supervision records for exploitation cases in each agency and report to the group",
                "qa",
                None,
                -60,
                state="complete",
                updates=[(120, "amber", "Four of six agencies have returned their supervision audits.")],
                evidence=[
                    Ev(
                        "Supervision audit across six agencies: the risk, the challenge and the next step are "
                        "recorded in most sessions; drift is now picked up within a month.",
                        measure="Supervision notes recording challenge and a next step",
                        unit="%",
                        before="29",
                        after="68",
                        before_ago=360,
                        after_ago=75,
                    )
                ],
                final_note="Report taken at the June meeting; findings fed into the multi-agency training offer.",
            ),
            Act(
                "Team managers in the adolescent service use the exploitation supervision template",
                "Marcia Thompson, Head of Service",
                "csc",
                20,
                state="in_progress",
                updates=[(15, "green", "Template in use in two of three teams; third team starts next month.")],
            ),
            Act(
                "Safe Haven adds exploitation to its case supervision agenda",
                "Joanne Pike, Service Manager",
                "safehaven",
                -110,
                state="closed",
                closure="Superseded: Safe Haven adopted the partnership's supervision template wholesale, which "
                "covers exploitation, so a separate agenda item is no longer needed.",
                updates=[(140, "green", "Agenda item drafted.")],
                final_note="Closed as superseded by the shared supervision template.",
            ),
        ],
    ),
    Rec(
        ("report", "past", 4),
        ["Drift and delay"],
        [],
        [
            Act(
                "Plan the re-audit of the carried cases for spring 2026",
                "qa",
                None,
                -260,
                state="complete",
                updates=[(280, "green", "Sixteen cases chosen to carry; agencies told of the March opening.")],
                evidence=[
                    Ev(
                        "The re-audit ran in March and April: 16 cases carried, more sections judged good or "
                        "better than six months before.",
                        measure="Sections judged good or better (carried cases)",
                        unit="%",
                        before="41",
                        after="63",
                        before_ago=380,
                        after_ago=210,
                    )
                ],
                final_note="Re-audit reported in May; the comparison is on the round's findings.",
            ),
            Act(
                "Share the re-audit findings with frontline staff in a seven-minute briefing",
                "admin",
                None,
                -40,
                state="not_started",
                rag="red",
                updates=[(20, "red", "The briefing author left the business unit; nobody has picked it up.")],
            ),
        ],
    ),
    Rec(
        ("report", "again", 1),
        ["Drift and delay", "Escalation"],
        ["csc", "police", "yjs"],
        [
            Act(
                "Exploitation plans close only after a multi-agency review when missing episodes continue",
                "Marcia Thompson, Head of Service",
                "csc",
                -15,
                state="in_progress",
                rag="red",
                updates=[
                    (60, "amber", "Closure checklist drafted; legal advice sought on the threshold wording."),
                    (10, "red", "Two plans closed last month with missing episodes ongoing; escalated to the AD."),
                ],
            ),
            Act(
                "Missing-persons coordinator flags any third episode in 90 days to the Exploitation Hub",
                "police",
                "police",
                60,
                state="in_progress",
                updates=[(30, "green", "Flag built into the daily missing report; testing with the Hub.")],
            ),
            Act(
                "Youth Offending panel asks about missing episodes before recommending closure",
                "Priya Shah, Youth Justice Service Manager",
                "yjs",
                -8,
                state="not_started",
                rag="amber",
                updates=[
                    (9, "amber", "Panel chair agrees; the question needs adding to the panel report template first.")
                ],
            ),
            Act(
                "Quarterly dip sample of closed exploitation plans by the QA group",
                "qa",
                None,
                80,
                state="not_started",
            ),
        ],
    ),
    Rec(
        ("report", "again", 2),
        ["Voice of the child", "Recording"],
        ["academy", "stannes", "yjs"],
        [
            Act(
                "Northbridge Academy adds the pupil's own words to its safeguarding log template",
                "Gareth Lloyd, Designated Safeguarding Lead",
                "academy",
                -30,
                state="in_progress",
                rag="amber",
                updates=[
                    (45, "amber", "CPOMS category added; staff briefing at the September inset day still to happen.")
                ],
                evidence=[
                    Ev(
                        "Staff were briefed and the category exists.",
                        decision="reject",
                        note="This shows the task was done, not what changed: please sample entries made since "
                        "September and tell us how many record the pupil's words.",
                    )
                ],
            ),
            Act(
                "St Anne's trains lunchtime and office staff to write down what children say",
                "Helen Bright, Headteacher",
                "stannes",
                25,
                state="in_progress",
                updates=[(20, "green", "Training booked with the local authority's education safeguarding team.")],
                evidence=[
                    Ev(
                        "Twelve concern forms written since the training: ten quote the child.",
                        decision="",
                        measure="Concern forms quoting the child",
                        unit="forms",
                        before="3",
                        after="10",
                        before_ago=120,
                        after_ago=5,
                    )
                ],
            ),
            Act(
                "Youth justice case recording template gains a 'what the young person told us' section",
                "Priya Shah, Youth Justice Service Manager",
                "yjs",
                90,
                state="not_started",
            ),
        ],
    ),
    Rec(
        ("case", "past", 0),
        ["Professional curiosity"],
        ["police", "csc"],
        [
            Act(
                "Review the disruption plan for the adults linked to this child",
                "lead",
                "police",
                -75,
                state="complete",
                updates=[(90, "green", "Disruption meeting held; two notices served.")],
                evidence=[
                    Ev(
                        "Since the disruption plan, no missing episodes have been reported for this child for three "
                        "months, against four the quarter before.",
                        measure="Missing episodes in the quarter",
                        unit="episodes",
                        before="4",
                        after="0",
                        before_ago=280,
                        after_ago=80,
                    )
                ],
                final_note="Plan reviewed; the child's allocated worker confirms the picture.",
            ),
            Act(
                "Learning from this case goes to the adolescent service's practice week",
                "Marcia Thompson, Head of Service",
                "csc",
                -45,
                state="closed",
                closure="The practice week was cancelled during the Ofsted visit and not rescheduled; the learning "
                "was taken through the JTAI action instead.",
                final_note="Closed: overtaken by the inspection's action plan.",
            ),
        ],
    ),
    Rec(
        ("case", "past", 1),
        ["Application of thresholds", "Escalation"],
        ["csc", "nuh"],
        [
            Act(
                "Remind hospital staff how to escalate when a referral is not accepted",
                "health",
                "nuh",
                -25,
                state="not_started",
                rag="red",
                updates=[
                    (33, "red", "Policy now published but no briefing yet; the named nurse vacancy is the block.")
                ],
                moved=(-90, "The escalation policy was being rewritten by the partnership; waited for it."),
            ),
            Act(
                "Front door managers record why a second referral about the same child is not accepted",
                "Marcia Thompson, Head of Service",
                "csc",
                15,
                state="in_progress",
                updates=[(30, "green", "Recording guidance issued to MASH team managers.")],
            ),
        ],
    ),
    Rec(
        (
            "other",
            "Ofsted JTAI, March 2026",
            "Partners should make sure that children at risk of exploitation who "
            "go missing have a return home interview within 72 hours, and that what they say shapes their plan.",
        ),
        ["Voice of the child", "Information sharing"],
        ["csc", "police", "yjs"],
        [
            Act(
                "Commission return home interviews from one provider with a 72-hour standard",
                "Marcia Thompson, Head of Service",
                "csc",
                -120,
                state="complete",
                updates=[(160, "green", "New contract awarded to Safe Haven's young people's service.")],
                evidence=[
                    Ev(
                        "Return home interviews within 72 hours rose after the new contract; the monthly report "
                        "shows the interview findings being added to plans.",
                        measure="Return home interviews within 72 hours",
                        unit="%",
                        before="48",
                        after="86",
                        before_ago=250,
                        after_ago=60,
                    )
                ],
                final_note="Contract running; performance is in the partnership dataset.",
            ),
            Act(
                "Police share missing-episode notifications with the interview provider the same day",
                "police",
                "police",
                -3,
                state="in_progress",
                rag="amber",
                updates=[(14, "amber", "Data sharing agreement signed; daily extract still sent by hand.")],
            ),
            Act(
                "Interview findings are a standing item at the child's next core group",
                "Marcia Thompson, Head of Service",
                "csc",
                35,
                state="in_progress",
                updates=[(18, "green", "Core group agenda template changed; chairs briefed.")],
            ),
            Act(
                "Report return home interview timeliness to the board every quarter",
                "admin",
                None,
                100,
                state="not_started",
            ),
            Act(
                "Youth justice workers see interview findings for young people they supervise",
                "Priya Shah, Youth Justice Service Manager",
                "yjs",
                -50,
                state="in_progress",
                rag="red",
                updates=[
                    (70, "amber", "Access request with CSC's information governance team."),
                    (22, "red", "Direct access refused; a data sharing agreement is needed and has no owner yet."),
                ],
            ),
        ],
    ),
    Rec(
        (
            "other",
            "Ofsted JTAI, March 2026",
            "Leaders should strengthen how health partners contribute to "
            "decisions about exploited children, including mental health services.",
        ),
        ["Information sharing", "Think family"],
        ["mh", "icb", "nuh"],
        [
            Act(
                "CAMHS offers a consultation slot to every exploitation strategy discussion",
                "Dr Imran Qureshi, Consultant Psychiatrist",
                "mh",
                10,
                state="in_progress",
                rag="amber",
                updates=[(21, "amber", "Slot agreed in principle; rota depends on two vacancies being filled.")],
            ),
            Act(
                "ICB designated nurse reviews health contributions to ten exploitation cases",
                "Dr Fiona Carter, Named GP for Safeguarding",
                "icb",
                50,
                state="not_started",
            ),
            Act(
                "Emergency department flags repeat attendances of 13 to 17 year olds to the safeguarding team",
                "health",
                "nuh",
                -10,
                state="closed",
                closure="The trust's new patient record cannot raise this flag until its 2027 upgrade; the risk is "
                "held on the trust's register and the action will return in next year's plan.",
                updates=[(40, "amber", "Supplier confirms the flag needs the next release.")],
                final_note="Closed: cannot progress until the system upgrade.",
            ),
        ],
    ),
    Rec(
        (
            "other",
            "Board challenge: neglect",
            "Agencies should use the neglect screening tool when a child's "
            "needs have been unmet for more than three months, and record the score in the child's file.",
        ),
        ["Drift and delay", "Professional curiosity", "Think family"],
        ["oaks", "stannes", "rch", "homes"],
        [
            Act(
                "Train early years staff in the neglect screening tool",
                "Sunita Rao, Centre Manager",
                "oaks",
                -180,
                state="complete",
                updates=[(200, "green", "Three sessions delivered to 42 staff.")],
                evidence=[
                    Ev(
                        "Early years referrals about neglect now come with a completed screening score, and the "
                        "MASH reports they are easier to triage.",
                        measure="Neglect referrals with a screening score",
                        unit="%",
                        before="12",
                        after="58",
                        before_ago=320,
                        after_ago=150,
                    )
                ],
                final_note="Training done; the centre repeats it for new starters each term.",
            ),
            Act(
                "Housing officers refer to early help when a tenancy visit finds neglect",
                "Dan Morris, Tenancy Services Manager",
                "homes",
                -65,
                state="not_started",
                rag="red",
                updates=[(50, "red", "New tenancy managers not yet briefed on the neglect pathway.")],
                moved=(-120, "Restructure of the tenancy team; new managers in post from the summer."),
            ),
            Act(
                "Health visitors record the screening score at each contact where neglect is a concern",
                "Ruth Okonjo, Safeguarding Lead Nurse",
                "rch",
                40,
                state="in_progress",
                updates=[(28, "green", "Score field added to the health visiting template.")],
            ),
            Act(
                "St Anne's uses the tool for children with persistent absence",
                "Helen Bright, Headteacher",
                "stannes",
                5,
                state="in_progress",
                rag="amber",
                updates=[(35, "amber", "Tool used for 6 of 11 pupils identified; attendance officer on leave.")],
            ),
        ],
    ),
    Rec(
        (
            "other",
            "Annual report 2025-26",
            "The partnership should show the difference its learning makes: each "
            "audit's recommendations tracked to evidence of impact, and the plan reported to the board.",
        ),
        ["Management oversight and supervision"],
        [],
        [
            Act(
                "Keep one composite action plan across audits, reviews and inspections",
                "qa",
                None,
                -30,
                state="complete",
                updates=[(90, "green", "Excel action log moved into the audit system.")],
                evidence=[
                    Ev(
                        "The board now receives one plan with every source; red actions have been chased at each "
                        "meeting and the number overdue has fallen.",
                        measure="Actions overdue at board meetings",
                        unit="actions",
                        before="14",
                        after="6",
                        before_ago=240,
                        after_ago=35,
                    )
                ],
                final_note="Plan in use; the board paper is produced from it.",
            ),
            Act(
                "Agree the impact measures each agency reports for the next annual report",
                "admin",
                None,
                70,
                state="in_progress",
                updates=[(12, "green", "Draft measures shared with the executive; comments due next month.")],
            ),
            Act(
                "Scrutineer's independent check of three completed actions' evidence",
                "scrutineer",
                None,
                120,
                state="not_started",
            ),
        ],
    ),
]


def _owner(act: Act, users: dict[str, User], agencies: dict[str, int]) -> services.ActionIn:
    user = users.get(act.owner)
    return services.ActionIn(
        title=act.title,
        owner_user_id=user.id if user is not None else None,
        owner_name="" if user is not None else act.owner,
        owner_agency_id=agencies[act.agency] if act.agency else None,
    )


def _build_action(rec: Recommendation, act: Act, users: dict[str, User], agencies: dict[str, int]) -> Action:
    today = clock.today()
    qa = users["qa"]
    author = users.get(act.owner) or (users["lead"] if act.agency == "police" else qa)
    given = _owner(act, users, agencies)
    first = act.moved[0] if act.moved else act.due
    given.due_on = today + timedelta(days=first)
    given.rag = "green"
    action = services.add_action(rec, given)
    if act.moved:
        services.move_due_date(action, today + timedelta(days=act.due), act.moved[1], by=author.id)
    for ago, rag, note in act.updates:
        status = ActionStatus.IN_PROGRESS.value if act.state != "not_started" else ""
        services.post_update(
            action,
            services.UpdateIn(note=note, rag=rag, status=status, written_on=today - timedelta(days=ago)),
            by=author.id,
        )
    for ev in act.evidence:
        files = [(io.BytesIO(ev.file[1].encode()), ev.file[0])] if ev.file else []
        evidence = services.add_evidence(
            action,
            services.EvidenceIn(
                description=ev.text,
                measure=ev.measure,
                unit=ev.unit,
                before_value=ev.before,
                after_value=ev.after,
                before_on=today - timedelta(days=ev.before_ago) if ev.before_ago is not None else None,
                after_on=today - timedelta(days=ev.after_ago) if ev.after_ago is not None else None,
            ),
            files,
            by=author.id,
        )
        if ev.decision:
            services.decide_evidence(evidence, accept=ev.decision == "accept", note=ev.note, by=qa.id)
        # dated as a real plan would be: added a few days after the measure, decided at the next QA meeting
        # (before the completing update below), never "today" for everything
        added = today - timedelta(days=max(2, (ev.after_ago if ev.after_ago is not None else 24) - 3))
        evidence.created_at = datetime.combine(added, time(10), tzinfo=UTC)
        if ev.decision:
            decided = min(today - timedelta(days=1), added + timedelta(days=7))
            evidence.decided_at = datetime.combine(decided, time(15), tzinfo=UTC)
    if act.state == "complete":
        measured = min((ev.after_ago for ev in act.evidence if ev.after_ago is not None), default=15)
        services.post_update(
            action,
            services.UpdateIn(
                note=act.final_note,
                rag="green",
                status=ActionStatus.COMPLETE.value,
                written_on=today - timedelta(days=max(1, measured - 14)),
            ),
            by=qa.id,
        )
    elif act.state == "closed":
        services.post_update(
            action,
            services.UpdateIn(
                note=act.final_note, rag="blue", status=ActionStatus.CLOSED.value, closure_reason=act.closure
            ),
            by=qa.id,
        )
    elif act.state == "not_started" and act.rag != "green" and not act.updates:
        # a rating without progress: the QA group's view at its last meeting
        services.post_update(
            action,
            services.UpdateIn(
                note=_NOT_STARTED_NOTES[act.rag], rag=act.rag, written_on=today - timedelta(days=7 + len(act.title) % 9)
            ),
            by=qa.id,
        )
    # the plan above says what each action's rating ends up as: keep the stories and the ratings in step
    if act.state in ("not_started", "in_progress") and action.rag.value != act.rag:
        raise ValueError(f"demo action {act.title!r} ends {action.rag.value}, not {act.rag}")
    return action


_NOT_STARTED_NOTES = {
    "amber": "Not started yet; the owner has confirmed a start date to the group.",
    "red": "Not started and no date offered; the group has asked the agency's senior lead to attend.",
}


def _recommendation(
    pid: int, spec: Rec, rounds: dict[str, Round], themes: list[str], agencies: dict[str, int]
) -> Recommendation | None:
    kind = spec.source[0]
    if kind == "report":
        round_ = rounds.get(spec.source[1])
        report_rec = (
            db.session.scalar(
                sa.select(ReportRecommendation).where(
                    ReportRecommendation.round_id == round_.id, ReportRecommendation.number == spec.source[2]
                )
            )
            if round_ is not None
            else None
        )
        if report_rec is None:
            return None
        rec = services.promote_report_recommendation(report_rec)
    elif kind == "case":
        round_ = rounds.get(spec.source[1])
        if round_ is None:
            return None
        judgements = [
            j
            for rc in round_.cases
            for j in db.session.scalars(
                sa.select(CaseJudgement).where(CaseJudgement.round_case_id == rc.id, CaseJudgement.section_key == "")
            )
            if (j.recommendations or "").strip()
        ]
        if len(judgements) <= spec.source[2]:
            return None
        rec = services.promote_case_recommendation(judgements[spec.source[2]])
    else:
        rec = services.create_recommendation(
            pid, services.RecommendationIn(source="other", source_description=spec.source[1], text=spec.source[2])
        )
    known = {t.casefold(): t for t in themes}
    services.update_recommendation(
        rec,
        services.RecommendationIn(
            source=rec.source.value,
            round_id=rec.round_id,
            source_description=rec.source_description,
            text=rec.text,
            number=rec.number,
            themes=[known[t.casefold()] for t in spec.themes if t.casefold() in known],
            agency_ids=sorted({a.id for a in rec.agencies} | {agencies[a] for a in spec.agencies}),
            tested_by_round_id=rounds["again"].id if spec.tested_by_reaudit and "again" in rounds else None,
        ),
    )
    return rec


def load_action_plan(partnership_id: int) -> int:
    """The demo's action plan, once; how many actions it added (0 if the partnership already has a plan)."""
    if db.session.scalar(sa.select(Recommendation.id).where(Recommendation.partnership_id == partnership_id).limit(1)):
        return 0
    users = {
        key: user
        for key, email in PEOPLE.items()
        if (user := db.session.scalar(sa.select(User).where(User.email == email))) is not None
    }
    if "qa" not in users or "lead" not in users:
        return 0
    agencies = {
        key: agency_id
        for key, name in AGENCY_NAMES.items()
        if (
            agency_id := db.session.scalar(
                sa.select(Agency.id)
                .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
                .where(PartnershipAgency.partnership_id == partnership_id, Agency.name == name)
            )
        )
        is not None
    }
    if len(agencies) != len(AGENCY_NAMES):
        return 0
    titles = {PAST_ROUND: "past", REAUDIT_ROUND: "again"}
    rounds = {
        titles[r.title]: r
        for r in db.session.scalars(
            sa.select(Round).where(Round.partnership_id == partnership_id, Round.title.in_(list(titles)))
        )
    }
    themes = services.learning_theme_choices(partnership_id)
    added = 0
    for spec in PLAN:
        rec = _recommendation(partnership_id, spec, rounds, themes, agencies)
        if rec is None:
            continue
        for act in spec.actions:
            _build_action(rec, act, users, agencies)
            added += 1
    return added


def _load(demo: Demo) -> None:
    if demo.partnership_id is not None:
        load_action_plan(demo.partnership_id)


register_demo_step(40, _load)
