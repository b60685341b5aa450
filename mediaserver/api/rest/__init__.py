"""The Plivo-compatible REST API (plivo.md §4): routes under /v1/Account/{auth_id}/.

How a resource is declared: a module under `resources/` builds `Route` values, one per method
and path, each with its `Parameter`s (type, required, default, choices, range), its success
status and the JSON schema of its answer (`schema.reply_schema`, `page.list_schema`); its
handler takes a `RestRequest` (the authenticated `Caller`, the URL's ids, the parsed values)
and returns a `Reply`, or raises `ApiError` for a 4xx. Handlers only translate: the rules
live in `store/` (shared with the command line), whose `InvalidFieldError` becomes a 400
naming the field. `app.py` hands every resource's routes to `RestApi`, which serves them,
validates against the same declarations, and writes `/v1/openapi.json` from them.

    Route("GET", "Application/{app_id}/", handler, "get an application",
          response=reply_schema(app_id="string", ...))
"""
