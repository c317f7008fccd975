"""Coldtrace's Python runtime client.

It speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, loads _HANDLER
("module.function") from LAMBDA_TASK_ROOT and calls it with the Lambda
contract (event, context). Handlers that import ``coldtrace`` get a small
tracer whose spans become children of the host's invocation span.

Everything here is on every cold start's critical path, so it imports only
what Python has loaded anyway or what is built in: the HTTP client is a few
lines over _socket (http.client pulls in the email package, socket the enum
module), JSON goes through the C codec json itself uses (the json package
imports re), and traceback is loaded on the error path only. Together that
is tens of milliseconds of a cold start.
"""

import _socket
import os
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"
NEXT = PREFIX + "/invocation/next"


class RuntimeClient:
    """HTTP/1.1 over one keep-alive connection to the Runtime API. Requests
    may be pipelined: an invocation's answer and the next /next leave in one
    write."""

    def __init__(self, addr):
        host, _, port = addr.rpartition(":")
        self.addr = (host, int(port))
        self.sock = None
        self.buf = b""

    @staticmethod
    def encode(method, path, body=b"", headers=None):
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (method, path, API, len(body))
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        return (head + "\r\n").encode("latin-1") + body

    def send(self, *requests):
        """Sends requests ((method, path, body, headers) each) at once and
        returns their answers, (status, headers, body) each."""
        data = b"".join(self.encode(*r) for r in requests)
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
                    self.sock.connect(self.addr)
                    self.sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
                    self.buf = b""
                self.sock.sendall(data)
                return [self._response() for _ in requests]
            except OSError:
                # A kept-alive connection the server closed: reconnect once.
                self.close()
                if attempt:
                    raise

    def request(self, method, path, body=b"", headers=None):
        return self.send((method, path, body, headers))[0]

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("runtime API closed the connection")
        self.buf += chunk

    def _response(self):
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._recv()
        body, self.buf = self.buf[:n], self.buf[n:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _codec():
    """loads and dumps with json's defaults, without importing json."""
    try:
        import _json

        class Context:  # the settings _json's scanner reads
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = float  # NaN, Infinity, -Infinity
            memo = None

        scan = _json.make_scanner(Context())

        def loads(b):
            s = b.decode("utf-8").strip(" \t\n\r")
            try:
                value, end = scan(s, 0)
            except StopIteration as e:
                raise ValueError("Expecting value: char %d" % e.value) from None
            if end != len(s):
                raise ValueError("Extra data: char %d" % end)
            return value

        def default(o):
            raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)

        def dumps(value):
            encode = _json.make_encoder({}, default, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)
            return "".join(encode(value, 0))

        dumps({"probe": [1, 2.5, None, True, "x"]})
        loads(b'{"probe": [1, 2.5, null, true, "x"]}')
        return loads, dumps
    except Exception:  # another Python: the json package does the same
        import json
        return json.loads, json.dumps


json_loads, json_dumps = _codec()


def error_body(exc, error_type=None):
    import traceback
    # As in Lambda, the trace starts in the function's code: the frames of
    # this bootstrap that called it are left out.
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return json_dumps({
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_tb(tb)],
    }).encode()


def load_handler():
    spec = os.environ.get("_HANDLER", "")
    module_name, _, func_name = spec.rpartition(".")
    if not module_name or not func_name:
        raise UserError("Runtime.MalformedHandlerName", "Bad handler '%s': expected MODULE.FUNCTION" % spec)
    import importlib
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        raise UserError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e))
    except ImportError as e:
        raise UserError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UserError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (func_name, module_name))
    return func


class UserError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


class LambdaContext:
    def __init__(self, headers):
        env = os.environ
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = _json_header(headers.get("lambda-runtime-client-context"))
        self.identity = _json_header(headers.get("lambda-runtime-cognito-identity"))
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _json_header(value):
    if not value:
        return None
    try:
        return json_loads(value.encode())
    except ValueError:
        return None


def main():
    client = RuntimeClient(API)
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    try:
        handler = load_handler()
    except UserError as e:
        print("%s: %s" % (e.error_type, e), file=sys.stderr)
        client.request("POST", PREFIX + "/init/error", error_body(e, e.error_type),
                       {"Lambda-Runtime-Function-Error-Type": e.error_type})
        sys.exit(1)
    except Exception as e:  # the module raised while importing
        import traceback
        traceback.print_exc()
        client.request("POST", PREFIX + "/init/error", error_body(e, "Runtime.ImportModuleError"),
                       {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)

    status, headers, body = client.request("GET", NEXT)
    while True:
        if status != 200:
            print("coldtrace bootstrap: /next answered %d: %r" % (status, body), file=sys.stderr)
            sys.exit(1)
        status, headers, body = invoke(client, handler, headers, body)


# _X_AMZN_TRACE_ID changes with every invocation. os.environ[...] = v
# calls glibc's setenv, which keeps every value it was ever given in a
# search tree: with a new trace id per call a warm instance leaked ~145
# bytes an invocation and searched an ever larger tree. So only
# os.environ's own mapping gets it: os.environ, os.getenv and copies of
# the environment see it; getenv() in native code, and child processes
# started without an env argument, do not.
_PID = os.getpid()
_TRACE_ENV_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")
_TRACE_ENV_DATA = os.environ._data
os.unsetenv("_X_AMZN_TRACE_ID")


def invoke(client, handler, headers, body):
    """Runs one event; returns the next one."""
    request_id = headers["lambda-runtime-aws-request-id"]
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        _TRACE_ENV_DATA[_TRACE_ENV_KEY] = os.environ.encodevalue(trace_id)
    else:
        _TRACE_ENV_DATA.pop(_TRACE_ENV_KEY, None)
    # The tracer exists only if the handler imported it.
    tracing = sys.modules.get("coldtrace")
    if tracing is not None:
        tracing._begin_invocation(request_id, headers.get("traceparent"))
    try:
        event = json_loads(body) if body else None
        result = handler(event, LambdaContext(headers))
        try:
            payload = json_dumps(result).encode()
        except (TypeError, ValueError) as e:
            # Lambda's name for an answer JSON cannot hold (bytes, a set).
            raise UserError("Runtime.MarshalError", "Unable to marshal response: %s" % e) from None
        answer = ("POST", "%s/invocation/%s/response" % (PREFIX, request_id), payload, {"Content-Type": "application/json"})
    except UserError as e:
        answer = ("POST", "%s/invocation/%s/error" % (PREFIX, request_id), error_body(e, e.error_type),
                  {"Lambda-Runtime-Function-Error-Type": e.error_type})
    except Exception as e:
        import traceback
        traceback.print_exc()
        answer = ("POST", "%s/invocation/%s/error" % (PREFIX, request_id), error_body(e),
                  {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
    finally:
        if tracing is not None:
            tracing._end_invocation()
    if os.getpid() != _PID:
        # A handler that called os.fork() returns here twice. The child
        # shares the Runtime API connection: answering or asking for the
        # next event from it would steal events from the instance.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    posted, following = client.send(answer, ("GET", NEXT))
    if posted[0] != 202:
        print("coldtrace bootstrap: %s answered %d: %r" % (answer[1], posted[0], posted[2]), file=sys.stderr)
    return following


if __name__ == "__main__":
    main()
