"""A file uploader that sends each file as the raw body of its own request to one of our endpoints.

NiceGUI's `ui.upload` posts a multipart form to a route that reads the whole form (to disk) before any
handler of ours runs, so a size limit could only be checked after the fact. This is Quasar's uploader
pointed at an endpoint that checks access first and stops reading at the limit
(`console/media_routes.py`): one file per request (`send-raw`), its name in `X-Filename`, the page's
CSRF token in `X-CSRF-Token`. Each finished request comes back to Python as an `UploadResult`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nicegui import ui

from console.auth import csrf

# The outcome of each request, read in the browser (an XMLHttpRequest cannot travel to the server).
_RESULT = (
    "(info) => emit({name: info.files.map((f) => f.name).join(', '), "
    "status: info.xhr.status, body: info.xhr.responseText})"
)


@dataclass
class UploadResult:
    name: str  # as the browser named it: for messages only
    status: int  # 0 when the request never got an answer
    body: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reason(self) -> str:
        error = self.body.get("error") or {}
        details = error.get("details") or {}
        if details:
            return "; ".join(str(v) for v in details.values())
        return error.get("message") or ("the connection was lost" if not self.status else f"error {self.status}")


# Quasar's own header has an unnamed "+" link-button around a file input with no label (axe: serious
# and critical): this one has a named button, and the trigger (with its input) stays hidden.
_HEADER = """
<div class="row no-wrap items-center q-pa-sm q-gutter-sm">
  <q-spinner v-if="props.isUploading" class="q-uploader__spinner" />
  <div class="col column justify-center">
    <div class="q-uploader__title">{title}</div>
    <div class="q-uploader__subtitle">{{{{ props.uploadSizeLabel }}}} / {{{{ props.uploadProgressLabel }}}}</div>
  </div>
  <q-btn v-if="props.canAddFiles" unelevated no-caps color="white" text-color="primary" icon="upload_file"
         label="{button}" @click="props.pickFiles" />
  <span v-if="props.canAddFiles" style="display: none"><q-uploader-add-trigger /></span>
</div>
"""


class Uploader(ui.element):
    def __init__(
        self,
        url: str,
        *,
        on_result: Callable[[UploadResult], Awaitable[None]],
        accept: str,
        max_file_size: int,
        title: str,
        button: str = "Choose files",
    ):
        """`title` and `button` are the page's own words (constants), written into the header template."""
        super().__init__("q-uploader")
        self.add_slot("header", _HEADER.format(title=html.escape(title), button=html.escape(button)))
        token = csrf.token_for(ui.context.client.request)
        self.props("multiple auto-upload send-raw")
        self._props["accept"] = accept
        self._props["max-file-size"] = max_file_size  # a courtesy: the server decides
        # A function prop: each request names its own file. The token is URL-safe base64 (no quotes).
        self._props[":headers"] = (
            "(files) => [{name: 'X-Filename', value: encodeURIComponent(files[0].name)}, "
            f"{{name: 'X-CSRF-Token', value: '{token}'}}]"
        )
        self.set_url(url)

        async def finished(e) -> None:  # noqa: ANN001
            args = e.args if isinstance(e.args, dict) else {}
            try:
                body = json.loads(args.get("body") or "{}")
            except ValueError:
                body = {}
            await on_result(
                UploadResult(name=str(args.get("name", "")), status=int(args.get("status") or 0), body=body)
            )

        self.on("uploaded", finished, js_handler=_RESULT)
        self.on("failed", finished, js_handler=_RESULT)

    def set_url(self, url: str) -> None:
        self._props["url"] = url
        self.update()
