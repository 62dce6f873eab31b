"""NiceGUI pages, one module per area, plus the shared shell. Registered by `register_all()`."""

from pages import access

# One module (or package) per area; a new area is one more name here.
AREAS = (
    "api_keys", "assignments", "audit", "billing", "catalogue", "dashboard", "developers", "live", "login", "my",
    "organizations", "people", "reports", "sessions", "simulations", "users",
)  # fmt: skip


def register_all() -> None:
    """Register every page module's pages with NiceGUI.

    Called from the main file on every start, including each user-fixture test, which resets NiceGUI's
    routes between tests while Python keeps the modules imported.
    """
    import importlib

    access.register_pages([importlib.import_module(f"pages.{name}") for name in AREAS])
