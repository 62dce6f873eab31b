"""NiceGUI pages, one module per area, plus the shared shell. Registered by `register_all()`."""

from pages import access


def register_all() -> None:
    """Register every page module's pages with NiceGUI.

    Called from the main file on every start, including each user-fixture test, which resets NiceGUI's
    routes between tests while Python keeps the modules imported.
    """
    from pages import (
        api_keys,
        assignments,
        audit,
        catalogue,
        dashboard,
        developers,
        login,
        my,
        organizations,
        people,
        reports,
        simulations,
        users,
    )

    access.register_pages(
        [
            api_keys,
            assignments,
            audit,
            catalogue,
            dashboard,
            developers,
            login,
            my,
            organizations,
            people,
            reports,
            simulations,
            users,
        ]  # fmt: skip
    )
