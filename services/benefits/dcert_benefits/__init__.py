"""The benefits service: policies per region, eligibility decisions, partner facts, monthly runs."""
