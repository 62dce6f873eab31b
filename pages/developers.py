"""Engine developers' first five minutes: how to call the engine API, with copy-paste examples."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from pages.access import secured_page
from pages.layout import frame

# Constant text (no user data), rendered through NiceGUI's sanitizing ui.markdown.
GUIDE = """
The engine API lives at **`{base}`**. Its reference is the [docs page]({base}/docs)
([OpenAPI schema]({base}/openapi.json)).

1. **Get a key.** A platform admin creates one on *API keys* (scopes `game:write` to report,
   `game:read` to read modules and results; optionally bound to one simulation or organization).
   It is shown once. Send it as `Authorization: Bearer sk_sim_…` — never in a URL (no route takes
   query parameters: any is a `422`). **While you build, use a test key** (`sk_sim_test_…`: tick
   *Test key*; studio creators make their own for a simulation they author, which plays as its maker):
   it also plays that simulation's draft and staged modules, and its sessions are test sessions — badged, counted in no
   report, assignment or percentile, and deletable. Every request a key had refused is in its inbox
   (*API keys → Refusals*), with the reason.
2. **Pick and read the module**: `GET /modules` lists what your key may play, each with its scoring
   dimensions; `GET /modules/{{id}}` gives the briefing, stakeholders, dimensions and build version.
3. **Start a session** for a player: by the **launch token** your game was opened with (below), or
   by email, user id or Clerk id. `external_session_id` is required: make it a **UUID** your engine
   generates. Sending the same start again returns the same session (`200`, same id); the same id
   with another module, player, platform, launch URL or start time is a `409` naming what differs,
   and an id another key or organization already used is a `409` too.
4. **Report events** in batches of 1–1000. Each event has your own UUID `id`: retry a batch as
   often as the network needs — the same ids are counted as duplicates, never stored twice.
   Dimension keys in `impacts` and `scores` must be the module's own, exactly (`financial`, not
   `Financial`); any other key refuses the batch with a `422` naming it and listing the dimensions.
   A score (`scores`) must lie within its dimension's range; impacts are changes, and the value
   they move is kept within the range.
5. **Send a `completion` event** (one a batch), then read the final scores, `passed` (the total
   against the pass mark) and, a moment later, the debrief.

With the demo data (`simvado-console serve --demo` prints a key), `solo0@mail.example` is a player
that exists, and every example below runs as printed once `KEY` is set.

## Launch tokens: who is playing

A participant or individual presses **Launch** in the console; the console opens the module's launch
URL with a signed token added as the `simvado_launch` query parameter (any query the URL already has
is kept): `https://play.example/harbor?build=7&simvado_launch=v1.eyJ…`. Read it on start and send it,
unchanged and alone, as the player — your engine never needs the player's email:

```json
{{"external_session_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "module_id": "<module id>",
 "player": {{"launch_token": "v1.eyJ…"}}}}
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
KEY=sk_sim_…; BASE={base}
MODULE=$(curl -s -H "Authorization: Bearer $KEY" $BASE/modules \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["modules"][0]["id"])')
SESSION=$(python3 -c 'import uuid; print(uuid.uuid4())')
curl -s -H "Authorization: Bearer $KEY" $BASE/modules/$MODULE
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' $BASE/sessions \
  -d '{{"external_session_id":"'$SESSION'","module_id":"'$MODULE'","player":{{"email":"solo0@mail.example"}}}}'
EVENT=$(python3 -c 'import uuid; print(uuid.uuid4())')
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' $BASE/events \
  -d '{{"external_session_id":"'$SESSION'","events":[{{"id":"'$EVENT'","type":"completion",
       "timestamp":"'$NOW'","data":{{"outcome":"deal saved"}}}}]}}'
```

## Python

```python
import uuid
from datetime import UTC, datetime

import httpx

KEY = "sk_sim_…"
api = httpx.Client(base_url="{base}", headers={{"Authorization": f"Bearer {{KEY}}"}})
module = api.get("/modules").json()["modules"][0]
play = api.post("/sessions", json={{"external_session_id": str(uuid.uuid4()), "module_id": module["id"],
                                   "player": {{"email": "solo0@mail.example"}}}}).json()
now = datetime.now(UTC).isoformat()
first = module["dimensions"][0]  # impacts and scores take the module's own dimension keys only
events = [
    {{"id": str(uuid.uuid4()), "type": "decision", "timestamp": now,
     "data": {{"decision_id": "d1", "choice_id": "c2", "impacts": {{first: -5}}}}}},
    {{"id": str(uuid.uuid4()), "type": "completion", "timestamp": now, "data": {{"outcome": "deal saved"}}}},
]
print(api.post("/events", json={{"session_id": play["id"], "events": events}}).json())
result = api.get(f"/sessions/{{play['id']}}").json()
print(result["final_scores"], result["passed"])
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

`200/201` done (committed) · `401` no key, or not a valid one (the message says how to send it) ·
`403` missing scope · `404` unknown record, or outside the key's binding (the same answer), or
`module_not_playable`: a module your key reaches that is not published (a test key bound to its
simulation plays it, draft or staged) · `405` wrong method · `409` an event id already stored with
other content (the details name its place in the batch and what differs), the session is completed,
or an `external_session_id` already used · `413` body over 1 MiB · `415` not JSON · `422` invalid:
the details name each field by its path in your body (`events[3].data.impacts.Financial`) ·
`429` too many requests: wait `Retry-After` seconds · `503` the database could not take it just now,
nothing was stored: resend after `Retry-After` (same event ids, so no duplicates). Every error is
`{{"error": {{"code", "message", "details"}}}}`.

What is not checked, so do not rely on it: a field given twice in one JSON object counts once, the
last value (as most JSON parsers read it); the body is read as UTF-8 whatever charset the
Content-Type names; of a header sent twice, the first counts; events of the completing batch timed
after its completion are stored and count toward the scores (send the completion last).

A complete scripted client: `examples/play_session.py` in the console's repository
(`python examples/play_session.py --base-url {origin} --player solo0@mail.example`, the key in
`SIMVADO_API_KEY`).
"""

# The guide's sections are h2 (under the page's h1), drawn at the size of markdown's h3.
_GUIDE_CSS = ".developer-guide h2 { font-size: 1.875rem; line-height: 2.25rem; margin: 1rem 0 .5rem; font-weight: 400 }"


@secured_page("/developers", title="Engine developers", permission=Permission.author_simulations)
async def developers(actor: Actor):
    # The address this page was opened at (behind a proxy, as it forwarded it): the one the reader can
    # reach, whatever SIMVADO_PUBLIC_URL says.
    origin = str(ui.context.client.request.base_url).rstrip("/")
    base = origin + "/api/v1"
    # On a white card: the code highlighter's comment colour (#3d7b7b) is 4.5:1 on white only.
    with (
        frame(actor, "Engine API: your first five minutes", breadcrumbs=[("Engine developers", None)]),
        ui.card().classes("max-w-4xl"),
    ):
        ui.add_css(_GUIDE_CSS)
        ui.markdown(GUIDE.format(base=base, origin=origin)).classes("w-full developer-guide").mark("developer-guide")
