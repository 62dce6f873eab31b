"""Engine developers' first five minutes: how to call the engine API, with copy-paste examples."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.config import get_settings
from pages.access import secured_page
from pages.layout import frame

# Constant text (no user data), rendered through NiceGUI's sanitizing ui.markdown.
GUIDE = """
The engine API lives at **`{base}`**. Its reference is the [docs page]({base}/docs)
([OpenAPI schema]({base}/openapi.json)).

1. **Get a key.** A platform admin creates one on *API keys* (scopes `game:write` to report,
   `game:read` to read modules and results; optionally bound to one simulation or organization).
   It is shown once. Send it as `Authorization: Bearer sk_sim_…` — never in a URL.
2. **Read the module** — briefing, stakeholders, scoring dimensions, build version.
3. **Start a session** for a player: by the **launch token** your game was opened with (below), or
   by email, user id or Clerk id. Idempotent on `external_session_id`: calling again returns the
   same session.
4. **Report events** in batches of 1–1000. Each event has your own UUID `id`: retry a batch as
   often as the network needs — the same ids are counted as duplicates, never stored twice.
5. **Send a `completion` event**, then read the final scores and, a moment later, the debrief.

## Launch tokens: who is playing

A participant or individual presses **Launch** in the console; the console opens the module's launch
URL with a signed token added as the `simvado_launch` query parameter (any query the URL already has
is kept): `https://play.example/harbor?build=7&simvado_launch=v1.eyJ…`. Read it on start and send it,
unchanged and alone, as the player — your engine never needs the player's email:

```json
{{"external_session_id": "ue-7f3a", "module_id": "<module id>", "player": {{"launch_token": "v1.eyJ…"}}}}
```

- It names the person (and their assignment) and one module; it is valid for **30 minutes**, long
  enough for a build to download and boot. Treat it as opaque and do not log it.
- Retrying the same start (same `external_session_id`) with the same token is safe, even after it
  expired: you get the same session back (200).
- Your API key's rules still apply: it must hold `game:write` and be allowed for the module's
  simulation and the person's organization.
- Refusals are `422` with a code to act on: `launch_token_expired` (ask the player to press Launch
  again), `launch_token_invalid` (not the console's token, or altered), `launch_token_wrong_module`
  (made for another module than `module_id`), `launch_token_not_allowed` (the person may not play it
  now: deactivated, no longer assigned, or on the free plan and the module is not a free demo). A
  token sent with `user_id`, `clerk_id` or `email` is refused as ambiguous (`validation_failed`).

## curl

```sh
KEY=sk_sim_…; BASE={base}; MODULE=<module id>
curl -s -H "Authorization: Bearer $KEY" $BASE/modules/$MODULE
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' $BASE/sessions \\
  -d '{{"external_session_id":"ue-7f3a","module_id":"'$MODULE'","player":{{"email":"ana@acme.example"}}}}'
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' $BASE/events \\
  -d '{{"external_session_id":"ue-7f3a","events":[{{"id":"'$(uuidgen)'","type":"completion",
       "timestamp":"2026-11-25T10:05:00Z","data":{{"outcome":"deal saved"}}}}]}}'
```

## Python

```python
import uuid, httpx
api = httpx.Client(base_url="{base}", headers={{"Authorization": f"Bearer {{KEY}}"}})
play = api.post("/sessions", json={{"external_session_id": "py-1", "module_id": MODULE,
                                   "player": {{"email": "ana@acme.example"}}}}).json()
events = [{{"id": str(uuid.uuid4()), "type": "decision", "timestamp": "2026-11-25T10:03:12Z",
           "data": {{"decision_id": "d1", "choice_id": "c2", "impacts": {{"financial": -5}}}}}}]
api.post("/events", json={{"session_id": play["id"], "events": events}})
print(api.get(f"/sessions/{{play['id']}}").json()["final_scores"])
```

## Unity (UnityWebRequest)

```csharp
var req = new UnityWebRequest(baseUrl + "/events", "POST");
req.uploadHandler = new UploadHandlerRaw(System.Text.Encoding.UTF8.GetBytes(batchJson));
req.downloadHandler = new DownloadHandlerBuffer();
req.SetRequestHeader("Content-Type", "application/json");
req.SetRequestHeader("Authorization", "Bearer " + apiKey);
yield return req.SendWebRequest();  // network error or 5xx: resend the same batchJson
if (req.responseCode == 429) {{ /* wait Retry-After seconds, then resend */ }}
```

## Unreal (FHttpModule)

```cpp
TSharedRef<IHttpRequest, ESPMode::ThreadSafe> Req = FHttpModule::Get().CreateRequest();
Req->SetURL(BaseUrl + TEXT("/events"));
Req->SetVerb(TEXT("POST"));
Req->SetHeader(TEXT("Content-Type"), TEXT("application/json"));
Req->SetHeader(TEXT("Authorization"), TEXT("Bearer ") + ApiKey);
Req->SetContentAsString(BatchJson);
Req->OnProcessRequestComplete().BindUObject(this, &UTelemetry::OnEventsPosted);
Req->ProcessRequest();
```

## Answers

`200/201` done (committed) · `401` bad or revoked key · `403` missing scope or outside the key's
binding · `404` unknown record · `409` an event id already stored with other content, or the session
is completed · `413` body over 1 MiB · `415` not JSON · `422` invalid (details name each field) ·
`429` too many requests: wait `Retry-After` seconds · `503` the database could not take it just now,
nothing was stored: resend after `Retry-After` (same event ids, so no duplicates). Every error is
`{{"error": {{"code", "message", "details"}}}}`.

A complete scripted client: `examples/play_session.py` in the console's repository.
"""

# The guide's sections are h2 (under the page's h1), drawn at the size of markdown's h3.
_GUIDE_CSS = ".developer-guide h2 { font-size: 1.875rem; line-height: 2.25rem; margin: 1rem 0 .5rem; font-weight: 400 }"


@secured_page("/developers", title="Engine developers", permission=Permission.author_simulations)
async def developers(actor: Actor):
    base = get_settings().public_url.rstrip("/") + "/api/v1"
    # On a white card: the code highlighter's comment colour (#3d7b7b) is 4.5:1 on white only.
    with (
        frame(actor, "Engine API: your first five minutes", breadcrumbs=[("Engine developers", None)]),
        ui.card().classes("max-w-4xl"),
    ):
        ui.add_css(_GUIDE_CSS)
        ui.markdown(GUIDE.format(base=base)).classes("w-full developer-guide").mark("developer-guide")
