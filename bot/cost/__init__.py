"""Spend: budgets, burn-rate alarms with cause attribution, the /cost command and reconciliation with finance."""
