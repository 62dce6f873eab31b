"""The engine API's routes, one module per resource. Each builds an APIRouter from the app's Gate (and
the settings where it needs them), so every route reaches the database only through the gate."""

from console.api.routes.events import events_router
from console.api.routes.modules import modules_router
from console.api.routes.sessions import sessions_router

__all__ = ["events_router", "modules_router", "sessions_router"]
