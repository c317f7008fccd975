"""Spans for Python functions run by Coldtrace.

    from coldtrace import tracer

    def handler(event, context):
        with tracer.span("load-user", user_id=event["id"]) as span:
            span.set_attribute("cache.hit", False)
            ...

Spans nest through contextvars and the first one of an invocation is a child
of the host's invocation span (the traceparent the host passes on /next).
Each span's start and end are written to the host's span pipe, so a span the
function began before it timed out or crashed is still exported, ended and
marked as cut off by the host. Without a pipe (tracing off) spans cost next
to nothing and go nowhere.

PyPI is not reachable from every machine Coldtrace runs on, so this is
standard library only rather than the OpenTelemetry Python SDK.
"""

import contextvars
import os
import time

__all__ = ["tracer", "Tracer", "Span", "current_traceparent"]

_fd = int(os.environ.get("COLDTRACE_SPAN_FD") or 0)
_current = contextvars.ContextVar("coldtrace_current_span", default=None)
# The invocation being served: request id, trace id, parent span id.
_invocation = {"rid": "", "trace": "", "parent": "", "sampled": True}

KINDS = ("internal", "server", "client", "producer", "consumer")


def _write(record):
    if not _fd:
        return
    import json  # here, not at import: the handler's init stays light

    try:
        os.write(_fd, (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode())
    except OSError:
        pass  # a host that stopped reading must not break the function


def _clean(attributes):
    out = {}
    for k, v in (attributes or {}).items():
        if isinstance(v, (str, bool, int, float)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)):
            out[k] = [x if isinstance(x, (str, bool, int, float)) else str(x) for x in v]
        else:
            out[k] = str(v)
    return out


class Span:
    """One unit of work. End it with end(), or use it as a context manager."""

    def __init__(self, name, kind="internal", attributes=None, parent=None):
        if kind not in KINDS:
            raise ValueError("span kind %r: use one of %s" % (kind, ", ".join(KINDS)))
        if parent is not None:
            self.trace_id, parent_id = parent.trace_id, parent.span_id
        else:
            self.trace_id = _invocation["trace"] or os.urandom(16).hex()
            parent_id = _invocation["parent"]
        self.span_id = os.urandom(8).hex()
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.attributes = _clean(attributes)
        self.events = []
        self.status = ("unset", "")
        self.start_ns = time.time_ns()
        self.end_ns = None
        self._token = None
        # An unsampled caller asked for no spans.
        self._recording = _invocation["sampled"]
        self._record("start", rid=_invocation["rid"])

    def _record(self, ev, **extra):
        if not self._recording:
            return
        rec = {
            "ev": ev, "trace": self.trace_id, "span": self.span_id, "parent": self.parent_id,
            "name": self.name, "kind": self.kind, "start": str(self.start_ns),
            "scope": {"name": "coldtrace.python", "version": "1"}, "attrs": self.attributes,
        }
        rec.update(extra)
        _write(rec)

    def set_attribute(self, key, value):
        self.attributes.update(_clean({key: value}))
        return self

    def set_attributes(self, attributes):
        self.attributes.update(_clean(attributes))
        return self

    def add_event(self, name, attributes=None):
        self.events.append({"name": name, "time": str(time.time_ns()), "attrs": _clean(attributes)})
        return self

    def set_status(self, code, message=""):
        if code not in ("unset", "ok", "error"):
            raise ValueError("status %r: use unset, ok or error" % code)
        self.status = (code, message)
        return self

    def record_exception(self, exc):
        self.add_event("exception", {"exception.type": type(exc).__name__, "exception.message": str(exc)})
        return self

    def end(self):
        if self.end_ns is not None:
            return
        self.end_ns = time.time_ns()
        self._record("end", end=str(self.end_ns), events=self.events,
                     status={"code": self.status[0], "message": self.status[1]})

    def traceparent(self):
        return "00-%s-%s-%s" % (self.trace_id, self.span_id, "01" if _invocation["sampled"] else "00")

    def __enter__(self):
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            self.record_exception(exc)
            self.set_status("error", str(exc))
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        self.end()
        return False


class Tracer:
    def start_span(self, name, kind="internal", attributes=None):
        """A span that is not made current; the caller ends it."""
        return Span(name, kind, attributes, parent=_current.get())

    def span(self, name, kind="internal", **attributes):
        """A span that is current inside a with block and ends with it."""
        return Span(name, kind, attributes, parent=_current.get())

    start_as_current_span = span


tracer = Tracer()


def current_traceparent():
    """The W3C traceparent to send on outgoing requests, or None."""
    span = _current.get()
    if span is not None:
        return span.traceparent()
    if _invocation["trace"]:
        return "00-%s-%s-%s" % (_invocation["trace"], _invocation["parent"], "01" if _invocation["sampled"] else "00")
    return None


def _begin_invocation(request_id, traceparent):
    """Called by the bootstrap before the handler runs."""
    trace, parent, sampled = "", "", True
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        trace, parent, sampled = parts[1], parts[2], parts[3] == "01"
    _invocation.update(rid=request_id, trace=trace, parent=parent, sampled=sampled)


def _end_invocation():
    _invocation.update(rid="", trace="", parent="", sampled=True)
