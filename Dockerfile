# syntax=docker/dockerfile:1
# Coldtrace's one image: the coldtrace binary with the web UI embedded, run
# as a non-root user. It runs any role against a ClickHouse server DSN
# (collector, query, runtime, or up --clickhouse DSN); it has no libchdb,
# so the embedded engine is not in it. The runtime role runs functions
# here too, hence Node.js 20 and Python 3 in the final stage.
#
#   docker build -t coldtrace --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .

ARG GO_VERSION=1.26.8
ARG NODE_VERSION=20

# --- web UI: ui/dist, embedded into the binary by the ui package
FROM node:${NODE_VERSION}-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
# npm ci's postinstall runs a script from here
COPY ui/scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

# --- the binary: static, no cgo (libchdb is loaded at run time, never linked)
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/ui/dist ./ui/dist
ARG VERSION=dev
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/coldtrace ./cmd/coldtrace

# --- runtime image
FROM node:${NODE_VERSION}-bookworm-slim
# python3: python3.11 functions; curl: container health checks; tini:
# PID 1 that reaps the orphans of function processes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl python3 tini \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 coldtrace \
    && useradd --system --uid 10001 --gid coldtrace --home-dir /var/lib/coldtrace --shell /usr/sbin/nologin coldtrace \
    && mkdir -p /var/lib/coldtrace \
    && chown coldtrace:coldtrace /var/lib/coldtrace
COPY --from=build /out/coldtrace /usr/local/bin/coldtrace
USER coldtrace:coldtrace
WORKDIR /var/lib/coldtrace
# Every flag is also a COLDTRACE_<FLAG> variable; these suit a container.
ENV COLDTRACE_DATA_DIR=/var/lib/coldtrace \
    COLDTRACE_LOG_FORMAT=json
VOLUME ["/var/lib/coldtrace"]
# OTLP gRPC, OTLP HTTP, REST API + web UI, function gateway, /metrics
EXPOSE 4317 4318 7070 8080 9464
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/coldtrace"]
CMD ["--help"]
