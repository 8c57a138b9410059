"""Household votes on the matters residents decide (Art. 15 of Law 10/2022/QH15, issue 15)."""
