"""Section 11 and s175/157 specifics on the round engine: scrutiny threads and moderation, challenge events,
practitioner surveys, follow-up lists and the self-assessment reports' pages.

The engine (``rounds/``) owns rounds, returns, answers (self rating, moderated rating, carried forward) and
return rates; this package adds only what a self-assessment has and a case audit has not.
"""
