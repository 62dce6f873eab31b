"""Import target for `simvado-console serve-api --workers N` (uvicorn imports the app in each worker).

Each worker configures the database explicitly (the engine is never configured lazily); `serve-api`
has resolved and migrated it and passes it on as DATABASE_URL.
"""

from console import db
from console.api import create_api_root, serving_app

db.configure()
app = serving_app(create_api_root())
