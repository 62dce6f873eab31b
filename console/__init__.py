"""Simvado Console: application core (no UI code)."""
