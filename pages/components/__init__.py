"""Reusable widgets: the server-side data table, form fields with inline errors, confirm dialogs."""
