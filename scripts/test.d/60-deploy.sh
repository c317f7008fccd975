#!/usr/bin/env bash
# Deployment files. No Docker engine runs here, so:
#  1. Debian's docker-compose validates docker-compose.yml (config -q).
#  2. Checks of what compose and Docker would do with it: images pinned,
#     health checks and named volumes, Grafana's plugin mount, unsigned
#     permission and provisioning variables, a non-root Dockerfile.
#  3. The Dockerfile's build context (after .dockerignore) compiles the way
#     its build stage does (static, no cgo, version stamped).
#  4. That binary runs each coldtrace service of the compose file with the
#     service's own command and environment (every COLDTRACE_* variable
#     must be a flag of that command), against a real ClickHouse HTTP
#     interface (the embedded engine's) in place of the clickhouse service,
#     until the service's own health check passes; then a span sent to the
#     collector is read back through the query service, and each service
#     stops cleanly on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v docker-compose >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose
fi
docker-compose config -q
echo "docker-compose.yml: valid (docker-compose $(docker-compose version --short))"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
docker-compose config > "$work/compose.yml"
git ls-files --cached --others --exclude-standard > "$work/files"
exec /usr/bin/python3 - "$work" <<'PY'
import fnmatch, json, os, re, secrets, shutil, signal, socket, subprocess, sys, time
import urllib.request
import yaml

work = sys.argv[1]
compose = yaml.safe_load(open(f"{work}/compose.yml"))
services = compose["services"]
failures = []

def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, file=sys.stderr)

def check(cond, msg):
    if not cond:
        fail(msg)

def volumes(svc):
    """(type, source, target) of each mount, from either compose syntax."""
    for v in svc.get("volumes", []):
        if isinstance(v, dict):
            yield v.get("type"), v.get("source"), v.get("target")
        else:
            src, target = v.split(":")[:2]
            yield ("bind" if src.startswith(("/", ".")) else "volume"), src, target

# --- 2. static checks -------------------------------------------------------
for name, svc in services.items():
    image = svc.get("image", "")
    tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
    check(tag and tag != "latest", f"{name}: image {image!r} has no pinned tag")
    hc = svc.get("healthcheck", {}).get("test")
    check(hc and hc[0] in ("CMD", "CMD-SHELL"), f"{name}: no health check")
    for kind, src, _ in volumes(svc):
        if kind == "volume":
            check(src in compose.get("volumes", {}), f"{name}: volume {src} not declared")
coldtrace = [n for n, s in services.items() if "build" in s]
check(set(coldtrace) >= {"collector", "query", "runtime"}, f"coldtrace services {coldtrace}")
for name in coldtrace:
    hc = " ".join(services[name]["healthcheck"]["test"])
    check(re.search(r"/(readyz|healthz|api/v1/status)\b", hc), f"{name}: health check {hc!r} uses no health endpoint")

plugin_id = json.load(open("grafana-plugin/src/plugin.json"))["id"]
g = services["grafana"]
check(plugin_id in g["environment"].get("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS", "").split(","),
      "grafana: plugin not allowed unsigned")
mounts = {target: src for kind, src, target in volumes(g) if kind == "bind"}
root = os.getcwd()
check(mounts.get(f"/var/lib/grafana/plugins/{plugin_id}") == f"{root}/grafana-plugin/dist", "grafana: plugin dist not mounted")
check(mounts.get("/etc/grafana/provisioning") == f"{root}/grafana-plugin/provisioning", "grafana: provisioning not mounted")
for dirpath, _, files in os.walk("grafana-plugin/provisioning"):
    for f in files:
        if not f.endswith((".yaml", ".yml")):
            continue
        # without comments
        text = "\n".join(re.sub(r"(^|\s)#.*", "", l) for l in open(os.path.join(dirpath, f)))
        for var in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text):
            check(var in g["environment"], f"grafana: {f} uses ${var}, which compose does not set")
        for path in re.findall(r"path:\s*(\S+)", text):
            check(path.startswith(f"/var/lib/grafana/plugins/{plugin_id}") or path.startswith("/etc/grafana/provisioning"),
                  f"grafana: {f} reads {path}, outside the mounted plugin and provisioning")
url = g["environment"].get("COLDTRACE_URL", "")
m = re.match(r"http://([^:/]+):(\d+)$", url)
check(m and m.group(1) in services, f"grafana: COLDTRACE_URL {url!r} names no service")

dockerfile = open("Dockerfile").read()
froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
for f in froms:
    check(":" in f and not f.endswith(":latest"), f"Dockerfile: FROM {f} is not pinned")
final = dockerfile[dockerfile.rindex("\nFROM "):]
user = re.findall(r"^USER\s+(\S+)", final, re.M)
check(user and user[-1].split(":")[0] not in ("root", "0"), "Dockerfile: final stage runs as root")
check(not re.search(r"^ADD\s", dockerfile, re.M), "Dockerfile: use COPY, not ADD")
for run in re.findall(r"^RUN\s+(.*?)(?<!\\)$", dockerfile, re.M | re.S):
    if "apt-get install" in run:
        check("--no-install-recommends" in run and "rm -rf /var/lib/apt/lists" in run, "Dockerfile: apt-get install without --no-install-recommends and list cleanup")
check(re.search(r'^ENTRYPOINT \[', dockerfile, re.M), "Dockerfile: ENTRYPOINT not in exec form")

# --- 3. the build context ---------------------------------------------------
def pattern_re(p):
    out = ""
    i = 0
    while i < len(p):
        if p.startswith("**", i):
            out += ".*"; i += 2
            if i < len(p) and p[i] == "/":
                i += 1
        elif p[i] == "*":
            out += "[^/]*"; i += 1
        elif p[i] == "?":
            out += "[^/]"; i += 1
        else:
            out += re.escape(p[i]); i += 1
    return re.compile(out + "$")

rules = []
for line in open(".dockerignore"):
    line = line.strip()
    if line and not line.startswith("#"):
        neg = line.startswith("!")
        rules.append((neg, pattern_re(line.lstrip("!").strip("/"))))

def ignored(path):
    parts = path.split("/")
    result = False
    for neg, rx in rules:
        # a pattern that matches a directory excludes what is under it
        if any(rx.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            result = not neg
    return result

ctx = f"{work}/context"
kept = 0
for path in open(f"{work}/files").read().split("\n"):
    if not path or ignored(path) or not os.path.isfile(path):
        continue
    os.makedirs(os.path.dirname(f"{ctx}/{path}"), exist_ok=True)
    shutil.copy2(path, f"{ctx}/{path}")
    kept += 1
for src in re.findall(r"^COPY\s+(?!--from)(\S+)\s", dockerfile, re.M):
    check(src == "." or os.path.exists(f"{ctx}/{src}"), f"Dockerfile: COPY {src}: not in the build context")
check(not os.path.exists(f"{ctx}/ui/node_modules") and not os.path.exists(f"{ctx}/.git"), "build context holds node_modules or .git")
# ui/dist comes from the ui stage; the set-up script built the same thing.
check(os.path.exists("ui/dist/index.html"), "ui/dist not built (scripts/setup.d/40-ui.sh)")
shutil.copytree("ui/dist", f"{ctx}/ui/dist", dirs_exist_ok=True)
binary = f"{work}/coldtrace"
version = "deploy-check-" + secrets.token_hex(3)
build = subprocess.run(["go", "build", "-trimpath", "-ldflags", f"-s -w -X main.version={version}", "-o", binary, "./cmd/coldtrace"],
                       cwd=ctx, env={**os.environ, "CGO_ENABLED": "0"}, capture_output=True, text=True)
if build.returncode != 0:
    fail("the build context does not compile:\n" + build.stderr)
    sys.exit(1)
out = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
check(out.startswith(f"coldtrace {version}\n"), f"version not stamped: {out!r}")
print(f"build context: {kept} files, binary built ({os.path.getsize(binary) >> 20} MiB)")
if failures:
    sys.exit(1)

# --- 4. the services, for real ----------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def http(url, data=None, headers={}, timeout=5):
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()

procs = []
def start(name, args, env):
    log = open(f"{work}/{name}.log", "w+")
    p = subprocess.Popen([binary] + args, env=env, stdout=log, stderr=subprocess.STDOUT)
    procs.append((name, p, log))
    return p

def logs(name):
    return open(f"{work}/{name}.log").read()[-3000:]

def wait(what, probe, proc, name, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"{name} exited ({proc.returncode}) before {what}:\n{logs(name)}")
            return False
        if probe():
            return True
        time.sleep(0.5)
    fail(f"{name}: no {what} within {seconds}s:\n{logs(name)}")
    return False

base_env = {k: v for k, v in os.environ.items() if not k.startswith("COLDTRACE_")}
chport = free_port()
engine = start("clickhouse", ["up", "--data-dir", f"{work}/engine", "--clickhouse-http-addr", f"127.0.0.1:{chport}",
               "--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0", "--http-addr", f"127.0.0.1:{free_port()}",
               "--gateway-addr", "127.0.0.1:0"], base_env)
try:
    if not wait("ClickHouse HTTP interface", lambda: http(f"http://127.0.0.1:{chport}/ping")[0] == 200, engine, "clickhouse"):
        sys.exit(1)
    ports = {p: free_port() for p in (4317, 4318, 7070, 8080, 9464)}
    def local(text):
        for port, mapped in ports.items():
            text = re.sub(rf"(127\.0\.0\.1|\b[a-z]+):{port}\b", f"127.0.0.1:{mapped}", text)
        return text
    # The image's own environment (Dockerfile ENV), then the service's.
    image_env = dict(re.findall(r"(COLDTRACE_[A-Z_]+)=(\S+)", dockerfile))
    running = {}
    for name in ("collector", "query", "runtime"):
        svc = services[name]
        command = svc["command"]
        env = {**base_env, **image_env, **{k: str(v) for k, v in svc.get("environment", {}).items()}}
        printed = subprocess.run([binary, "config", "print"] + command, env=env, capture_output=True, text=True)
        if printed.returncode != 0:
            fail(f"{name}: coldtrace config print {' '.join(command)} with its environment: {printed.stderr}")
            continue
        known = set(re.findall(r"# (COLDTRACE_[A-Z0-9_]+)$", printed.stdout, re.M))
        # An address left empty shares another listener (query's --admin-addr): keep it so.
        shared = set(re.findall(r'^[a-z0-9-]+: ""\s+# (COLDTRACE_[A-Z0-9_]+_ADDR)$', printed.stdout, re.M))
        for var in env:
            if var.startswith("COLDTRACE_"):
                check(var in known, f"{name}: {var} is not a flag of 'coldtrace {' '.join(command)}'")
        admin = re.search(r'^admin-addr: "([^"]*)"', printed.stdout, re.M)
        check(not admin or not admin.group(1).startswith(("127.", "localhost:")),
              f"{name}: admin address {admin and admin.group(1)} is loopback inside its container: /metrics unreachable")
        # Run it here: the ClickHouse service is the embedded engine's HTTP
        # interface, container paths are directories of this run, and the
        # container ports are free ports on loopback.
        data = f"{work}/{name}"
        for var, value in list(env.items()):
            if var.startswith("COLDTRACE_"):
                env[var] = local(value.replace("/var/lib/coldtrace", data))
        env["COLDTRACE_DATA_DIR"] = data
        env["COLDTRACE_CLICKHOUSE"] = f"http://127.0.0.1:{chport}"
        addrs = {"COLDTRACE_OTLP_GRPC_ADDR": 4317, "COLDTRACE_OTLP_HTTP_ADDR": 4318, "COLDTRACE_ADMIN_ADDR": 9464,
                 "COLDTRACE_HTTP_ADDR": 7070, "COLDTRACE_GATEWAY_ADDR": 8080}
        for var, port in addrs.items():
            if var in known and var not in shared:
                env[var] = f"127.0.0.1:{ports[port]}"
        # Each container has its own :9464; here only the service whose
        # health check uses it keeps the mapped port, others get their own.
        if "COLDTRACE_ADMIN_ADDR" in known and "COLDTRACE_ADMIN_ADDR" not in shared and \
                "9464" not in " ".join(svc["healthcheck"]["test"]):
            env["COLDTRACE_ADMIN_ADDR"] = f"127.0.0.1:{free_port()}"
        if "COLDTRACE_CLICKHOUSE" not in known:
            del env["COLDTRACE_CLICKHOUSE"]
        proc = start(name, command, env)
        test = [local(a) for a in svc["healthcheck"]["test"]]
        argv = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1].replace("$$", "$")]
        healthy = lambda: subprocess.run(argv, env=env, capture_output=True).returncode == 0
        if wait("passing health check " + " ".join(argv), healthy, proc, name):
            print(f"{name}: 'coldtrace {' '.join(command)}' healthy")
            running[name] = proc

    if {"collector", "query"} <= running.keys():
        trace_id = secrets.token_hex(16)
        now = time.time_ns()
        body = json.dumps({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "deploy-check"}}]},
            "scopeSpans": [{"spans": [{"traceId": trace_id, "spanId": secrets.token_hex(8), "name": "compose",
                                        "kind": 2, "startTimeUnixNano": str(now - 5_000_000), "endTimeUnixNano": str(now)}]}]}]}).encode()
        code, answer = http(f"http://127.0.0.1:{ports[4318]}/v1/traces", body, {"Content-Type": "application/json"})
        check(code == 200, f"collector: OTLP/HTTP answered {code} {answer[:300]!r}")
        found = lambda: http(f"http://127.0.0.1:{ports[7070]}/api/v1/traces/{trace_id}")[0] == 200
        if wait("trace readable through the query service", found, running["query"], "query", 60):
            status, answer = http(f"http://127.0.0.1:{ports[7070]}/api/v1/traces/{trace_id}")
            check(b'"deploy-check"' in answer and trace_id.encode() in answer, f"query: trace answer {answer[:300]!r}")
            print("span sent to the collector service read back through the query service")

    for name, proc in running.items():
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(int(services[name]["stop_grace_period"].rstrip("s")))
            check(code == 0, f"{name}: exit status {code} after SIGTERM:\n{logs(name)}")
        except subprocess.TimeoutExpired:
            fail(f"{name}: still running after its stop_grace_period")
finally:
    for _, p, _ in procs:
        if p.poll() is None:
            p.kill()
            p.wait()

if failures:
    print(f"{len(failures)} deployment checks failed", file=sys.stderr)
    sys.exit(1)
print("deployment checks passed")
PY
