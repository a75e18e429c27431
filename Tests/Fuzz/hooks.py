"""schemathesis hooks for `./dev fuzz` (loaded through SCHEMATHESIS_HOOKS)."""
import os

import schemathesis

# A claim long-polls up to waitSeconds (≤ 30) when no task of its commandTypes is queued, which is
# almost always with generated commandTypes: 200+ such claims would take an hour. The value is
# valid either way; a short wait keeps the waiting code path exercised without the hour.
MAX_CLAIM_WAIT = 0.2

# The key the fuzz run authenticates with. Stateful runs follow GET /v1/apikeys to
# DELETE /v1/apikeys/{key}; deleting this one would turn every later call into a 401.
FUZZ_ADMIN_KEY = os.environ.get("TASKD_FUZZ_ADMIN_KEY", "")


# GET /v1/tasks/{taskId} with If-None-Match and `Prefer: wait=<s>` long-polls up to 60 s when the
# task does not change, which it never does in a fuzz run; like claims, keep the wait short.
MAX_PREFER_WAIT = "wait=0"


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    headers = case.headers or {}
    prefer = headers.get("Prefer")
    if path == "/v1/tasks/{taskId}" and isinstance(prefer, str) and prefer.startswith("wait="):
        digits = prefer[len("wait="):]
        if digits.isdigit() and 0 < int(digits) <= 60:
            case.headers["Prefer"] = MAX_PREFER_WAIT
    if path == "/v1/apikeys/{key}" and FUZZ_ADMIN_KEY and (case.path_parameters or {}).get("key") == FUZZ_ADMIN_KEY:
        case.path_parameters["key"] = FUZZ_ADMIN_KEY + "-not"
    if path != "/v1/workers/claim" or not isinstance(case.body, dict):
        return
    wait = case.body.get("waitSeconds")
    if isinstance(wait, bool):
        return  # a wrong type: answered 400 at once
    try:
        seconds = float(wait)
    except (TypeError, ValueError):
        return  # not a number: answered 400 at once
    if 0 < seconds <= 30:
        case.body["waitSeconds"] = min(seconds, MAX_CLAIM_WAIT)
