"""Follow-up's private domain model: plans, check-ins, referrals, consent.  No I/O, no clock."""
