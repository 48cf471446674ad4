"""The demo's free texts, composed so they read like a real round's: what practitioners did well, what was
missed, and what should change, in varied, plausible sentences.

Each text is put together from a few parts (who, what, when, so what), drawn from the demo's seeded random
generator; a test keeps any one sentence to a few cases (tests/case_audits/test_demo_texts.py).
"""

from __future__ import annotations

import random

WHO = [
    "The allocated social worker",
    "The school's designated safeguarding lead",
    "The health visitor",
    "The missing-persons coordinator",
    "The school nurse",
    "The youth worker",
    "The early help key worker",
    "The MASH social worker",
    "The CAMHS clinician",
    "The neighbourhood officer",
    "The named nurse for safeguarding",
    "The exploitation team's practitioner",
]
DID = [
    "recognised the signs of exploitation",
    "shared the concern with children's social care",
    "spoke to the young person alone",
    "completed the exploitation screening tool",
    "followed up the missed appointments",
    "visited the family at home",
    "recorded the young person's own words",
    "sought the mother's view of the risks",
    "challenged the decision to close the case",
    "linked the missing episodes to the adults of concern",
    "escalated the concern to their manager",
    "checked who else knew the family",
]
WHEN = [
    "at the first contact",
    "on the same day",
    "within 24 hours",
    "before the strategy discussion",
    "after the second missing episode",
    "at the review meeting",
    "when the school raised attendance",
    "during the return home interview",
]
SO = [
    "and the record says why",
    "which led to a timely strategy discussion",
    "and management oversight of the decision is clear",
    "and the plan was updated straight away",
    "so the other agencies had the full picture",
    "and the young person engaged with the next visit",
]

OPENING = [
    "",
    "",
    "At the point of referral, ",
    "Over the audit period, ",
    "After the first missing episode, ",
    "Once the case was open, ",
    "Between the two strategy discussions, ",
]
GAP = [
    "The young person's own words are not recorded",
    "There is no evidence the screening tool was reviewed after new information",
    "Health were not invited to the strategy discussion",
    "Supervision notes do not show challenge or a plan to reduce risk",
    "Disruption activity against the adults of concern is not recorded",
    "The plan was not reviewed for four months",
    "The chronology stops before the latest missing episode",
    "The referral does not say what the school had already tried",
    "Return home interviews were not offered after two episodes",
    "The decision to step down to early help is not explained",
    "Information from the GP was not sought",
    "The father's role and views are missing from the assessment",
    "The child protection medical was not considered",
    "The risk assessment was not shared with the school",
    "No one checked whether siblings were at risk",
    "The threshold decision is not recorded",
]
WHERE = [
    "in the assessment",
    "in the case notes",
    "on the child's plan",
    "in the agency's records",
    "in the strategy discussion minutes",
    "in the supervision record",
]
EFFECT = [
    "so the risk picture was incomplete",
    "which delayed the response",
    "and this was raised with the team manager during the audit",
    "so the plan did not address the exploitation risk",
    "and the young person's lived experience is hard to see",
    "so nobody followed up when the pattern repeated",
    "and the agency has since changed its practice",
    "which left the family without support for weeks",
    "so the same concern was referred three times",
    "and the child's needs were seen one incident at a time",
    "so the decision rested on one agency's view",
    "which the agency recognised before the audit",
]

ACT = [
    "Refresh training on recognising exploitation for",
    "Agree a standard for recording the child's own words with",
    "Review how strategy discussions are arranged with",
    "Audit supervision records, six months on, for",
    "Share the learning from this audit with",
    "Set out when to escalate a disagreement, for",
    "Check the use of the exploitation screening tool by",
    "Remind practitioners of the escalation policy, starting with",
    "Agree how missing episodes are shared between the police and",
    "Add the child's lived experience to the supervision template used by",
    "Offer reflective case discussion on exploitation to",
    "Run a multi-agency workshop on contextual safeguarding for",
]
FOR = [
    "front-line social workers",
    "school safeguarding leads",
    "health practitioners in the emergency department",
    "neighbourhood policing teams",
    "early help practitioners",
    "the MASH",
    "the exploitation team",
    "youth justice workers",
    "the children's centre staff",
    "designated nurses and named GPs",
]
BY = [
    "by the end of the quarter",
    "within six months",
    "before the re-audit",
    "at the next practice forum",
    "by March",
    "as part of the annual training plan",
]
WHY = [
    "so that risk is seen earlier",
    "so that the child's voice shapes the plan",
    "so that every agency hears of a missing episode the same day",
    "so that disagreements are resolved quickly",
    "so that plans are reviewed when risk changes",
    "so that fathers and wider family are part of the assessment",
]


TO_WHOM = [
    "the MASH team manager",
    "the designated safeguarding lead",
    "the duty senior practitioner",
    "the named nurse for safeguarding",
    "the public protection unit sergeant",
    "the head of service",
    "the exploitation team manager",
]
WHEN_ESCALATED = [
    "the same day",
    "within the hour",
    "the next morning",
    "before the end of the shift",
    "that afternoon",
]
THEN = [
    "; a strategy discussion followed",
    "; the case was reopened",
    ", who agreed a home visit that day",
    ", who asked the police for a welfare check",
    "",
]


def _escalation(rng: random.Random) -> str:
    return f"Escalated to {rng.choice(TO_WHOM)} {rng.choice(WHEN_ESCALATED)}{rng.choice(THEN)}."


def _strength(rng: random.Random) -> str:
    return f"{rng.choice(WHO)} {rng.choice(DID)} {rng.choice(WHEN)}, {rng.choice(SO)}."


def _development(rng: random.Random) -> str:
    where = rng.choice(WHERE)
    gap = rng.choice(GAP)
    # "in the assessment" reads wrongly after a sentence about who was invited: keep it to recording gaps
    where = f" {where}" if gap.split()[-1] in ("recorded", "explained", "sought") else ""
    opening = rng.choice(OPENING)
    if opening:
        gap = gap[0].lower() + gap[1:]
    return f"{opening}{gap}{where}, {rng.choice(EFFECT)}."


def _recommendation(rng: random.Random) -> str:
    return f"{rng.choice(ACT)} {rng.choice(FOR)} {rng.choice(BY)}, {rng.choice(WHY)}."


class DemoRandom(random.Random):
    """The demo's seeded random generator, which also writes its texts: each sentence drawn from it, and none
    written more than ``most`` times (one drawn too often is drawn again), so no dozen cases share one
    observation."""

    def __init__(self, seed: int, most: int = 2) -> None:
        super().__init__(seed)
        self.most = most
        self.used: dict[str, int] = {}

    def _fresh(self, make) -> str:
        for _ in range(100):
            text = make(self)
            if self.used.get(text, 0) < self.most:
                break
        self.used[text] = self.used.get(text, 0) + 1
        return text

    def strength(self) -> str:
        """What went well, as an auditor or the panel would write it."""
        return self._fresh(_strength)

    def development(self) -> str:
        """What was missed or should be better."""
        return self._fresh(_development)

    def recommendation(self) -> str:
        """A recommendation, with whom and by when."""
        return self._fresh(_recommendation)

    def escalation(self) -> str:
        """To whom a concern was escalated, and what followed."""
        return self._fresh(_escalation)

    def any_note(self) -> str:
        """A free-text answer that is neither a strength nor a gap in particular."""
        return self.strength() if self.random() < 0.5 else self.development()
