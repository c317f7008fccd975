"""A function that wants more memory than it has: it allocates `mb`
megabytes (default 200) under a 64 MB limit, so the kernel's OOM killer
ends it and the invocation is reported as out_of_memory."""


def handler(event, context):
    # A direct invoke sends {"mb": N}; the HTTP trigger, ?mb=N.
    params = (event or {}).get("queryStringParameters") or event or {}
    mb = int(params.get("mb", 200))
    blocks = []
    for i in range(mb):
        blocks.append(bytearray(1 << 20))
    print("allocated %d MB and survived" % mb)
    return {"statusCode": 200, "body": "allocated %d MB" % len(blocks)}
