"""A Python function with spans from the tracer Coldtrace's bootstrap provides."""

import json
import time

from coldtrace import tracer

# Module scope runs once per instance, during init (the cold start).
GREETINGS = ("hello", "hi", "hey")


def look_up_user(name):
    with tracer.span("lookup-user", **{"user.name": name}):
        time.sleep(0.005)
        return {"name": name, "visits": len(name)}


def handler(event, context):
    with tracer.span("greet") as span:
        # The HTTP trigger sends an API Gateway event; a direct invoke, any JSON.
        params = (event or {}).get("queryStringParameters") or event or {}
        name = params.get("name", "world")
        user = look_up_user(name)
        greeting = "%s %s" % (GREETINGS[user["visits"] % len(GREETINGS)], name)
        span.set_attribute("greeting", greeting)
        print("greeted %s; %d ms left" % (name, context.get_remaining_time_in_millis()))
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"greeting": greeting, "requestId": context.aws_request_id}),
        }
