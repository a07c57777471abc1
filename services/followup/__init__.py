"""Follow-up: check-ins, referrals, safety plans, guardian notification and consent."""
