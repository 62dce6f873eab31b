"""Import target for `simvado-console serve-api --workers N` (uvicorn imports the app in each worker)."""

from console.api import create_api_root

app = create_api_root()
