"""schemathesis hooks for `./dev fuzz` (loaded through SCHEMATHESIS_HOOKS)."""
import schemathesis

# A claim long-polls up to waitSeconds (≤ 30) when no task of its commandTypes is queued, which is
# almost always with generated commandTypes: 200+ such claims would take an hour. The value is
# valid either way; a short wait keeps the waiting code path exercised without the hour.
MAX_CLAIM_WAIT = 0.2


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != "/v1/workers/claim" or not isinstance(case.body, dict):
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
