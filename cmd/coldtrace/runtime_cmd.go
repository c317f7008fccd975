package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/runtime/client"
	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/limits"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
)

// runtimeOptions are the function runtime's flags.
type runtimeOptions struct {
	gatewayAddr string
	// flags is the command's flag set: --data-dir is the storage flags'
	// in 'coldtrace up' and the role's own in 'coldtrace runtime'.
	flags       *pflag.FlagSet
	examples    bool
	examplesDir string
	cfg         server.Config
	cgroups     string
	// token is what the runtime presents to Coldtrace's own services: its
	// span export and the --examples deploys.
	token string
	// security is the role's auth and TLS (set by the command).
	security *securityOptions
	// admin, when set, gets the runtime's metrics and readiness.
	admin *admin
}

func (o *runtimeOptions) register(fs *pflag.FlagSet, host string) {
	d := server.DefaultConfig()
	o.cfg = d
	fs.StringVar(&o.gatewayAddr, "gateway-addr", host+":8080", "function gateway listen address: /fn/{name}/* and the Lambda Invoke API")
	o.flags = fs
	fs.BoolVar(&o.examples, "examples", false, "deploy the example functions of --examples-dir at start")
	fs.StringVar(&o.examplesDir, "examples-dir", "examples", "directory whose subdirectories (each with a coldtrace.json) --examples deploys")
	fs.StringVar(&o.cgroups, "cgroups", string(d.Limits.Mode), "how function memory and pids limits are enforced: auto (cgroup v2, else v1, else soft), v1, v2 or off (soft: RSS polling)")
	fs.StringVar(&o.cfg.Limits.Parent, "cgroup-parent", d.Limits.Parent, "cgroup, below the host's own, that holds function instances")
	fs.IntVar(&o.cfg.Host.Pids, "function-pids-limit", d.Host.Pids, "most processes and threads one function instance may have (needs the pids cgroup controller)")
	fs.DurationVar(&o.cfg.Host.InitTimeout, "function-init-timeout", d.Host.InitTimeout, "longest a cold start's init may take")
	fs.StringVar(&o.cfg.Bootstrap.Node, "node-path", "", "Node.js interpreter for nodejs20 functions (default /usr/bin/node, else node on PATH)")
	fs.StringVar(&o.cfg.Bootstrap.Python, "python-path", "", "Python interpreter for python3.11 functions (default /usr/bin/python3, else python3 on PATH)")
	fs.IntVar(&o.cfg.Queue.Workers, "async-workers", d.Queue.Workers, "async (Event) invocations run at once")
	fs.DurationVar(&o.cfg.Queue.RetryDelay, "async-retry-delay", d.Queue.RetryDelay, "wait before the first retry of a failed async invocation; the second waits twice as long")
	fs.IntVar(&o.cfg.Queue.MaxRetries, "async-retries", d.Queue.MaxRetries, "retries of a failed async invocation before it goes to the dead-letter list")
	fs.StringVar(&o.cfg.Host.Region, "function-region", d.Host.Region, "region shown in function ARNs and AWS_REGION")
	fs.StringVar(&o.token, "runtime-token", "", "bearer token the runtime sends with its spans (ingest scope) and --examples deploys (admin scope); default --auth-token")
}

// config is the runtime's configuration after flags were parsed.
func (o *runtimeOptions) config(otlpEndpoint string) server.Config {
	cfg := o.cfg
	if f := o.flags.Lookup("data-dir"); f != nil {
		cfg.DataDir = f.Value.String()
	}
	cfg.GatewayAddr = o.gatewayAddr
	cfg.Limits.Mode = limits.Mode(o.cgroups)
	cfg.Telemetry.Endpoint = otlpEndpoint
	return cfg
}

// startRuntime runs the function runtime, exporting spans to otlpEndpoint
// (OTLP/HTTP base URL; ownCollector says it is this process's receiver,
// behind this process's tokens); the returned func stops it.
func startRuntime(ctx context.Context, o *runtimeOptions, otlpEndpoint string, ownCollector bool, log *slog.Logger) (func(context.Context) error, error) {
	cfg := o.config(otlpEndpoint)
	var clientOpts []client.Option
	if sec := o.security; sec != nil {
		if sec.authn != nil {
			// Triggers need the invoke scope, managing functions admin.
			cfg.Guard = func(access gateway.Access, h http.Handler) http.Handler {
				if access == gateway.AccessAdmin {
					return sec.authn.HTTP(auth.ScopeAdmin, h)
				}
				// The HTTP trigger passes a request's headers to the
				// function: not the caller's Coldtrace token.
				return sec.authn.HTTP(auth.ScopeInvoke, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r.Header.Del("Authorization")
					h.ServeHTTP(w, r)
				}))
			}
		}
		if o.token == "" {
			o.token = sec.auth.Token
		}
		if err := o.checkOwnToken(sec.authn, ownCollector); err != nil {
			return nil, err
		}
		if sec.tls != nil {
			cfg.TLS = sec.tls
			// The local collector and gateway serve this certificate.
			trust, err := trustCertificate(sec.tlsCert)
			if err != nil {
				return nil, err
			}
			clientOpts = append(clientOpts, client.WithTLS(trust))
			if strings.HasPrefix(otlpEndpoint, "http://") {
				cfg.Telemetry.Endpoint = "https://" + strings.TrimPrefix(otlpEndpoint, "http://")
				cfg.Telemetry.TLS = trust
			}
		}
	}
	if o.token != "" {
		cfg.Telemetry.Headers = map[string]string{"Authorization": "Bearer " + o.token}
		clientOpts = append(clientOpts, client.WithToken(o.token))
	}
	srv, err := server.Start(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("function runtime: %w", err)
	}
	if o.admin != nil {
		o.admin.collect(srv.Host().Metrics()...)
	}
	if o.examples {
		// Deploying builds (go build, npm ci): let the rest come up first.
		go deployExamples(ctx, srv.URL(), o.examplesDir, clientOpts, log)
	}
	return srv.Stop, nil
}

// checkOwnToken refuses to start when the runtime's own calls would be
// refused by this process's tokens: without it every span the runtime
// exports is lost, with only a log line to say so.
func (o *runtimeOptions) checkOwnToken(authn *auth.Authenticator, ownCollector bool) error {
	if authn == nil {
		return nil
	}
	uses := []struct {
		scope auth.Scope
		what  string
		needs bool
	}{
		{auth.ScopeIngest, "sends its spans to this process's OTLP receiver", ownCollector},
		{auth.ScopeAdmin, "deploys --examples through its own gateway", o.examples},
	}
	for _, u := range uses {
		if !u.needs {
			continue
		}
		if _, err := authn.Check(o.token, u.scope); err != nil {
			if o.token == "" {
				return fmt.Errorf("the function runtime %s, which requires a token: give --runtime-token (a token of --auth-tokens-file with the %s scope)", u.what, u.scope)
			}
			return fmt.Errorf("the function runtime %s, and --runtime-token does not have the %s scope", u.what, u.scope)
		}
	}
	return nil
}

// trustCertificate is a client TLS configuration that trusts the server
// certificate in certFile, for connections to this process's own
// listeners over loopback.
func trustCertificate(certFile string) (*tls.Config, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("certificate %s: no PEM certificate in it", certFile)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	// Verify against the certificate's own name: the runtime dials the
	// listeners by their loopback address.
	if block, _ := pem.Decode(b); block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil && len(cert.DNSNames) > 0 {
			cfg.ServerName = cert.DNSNames[0]
		}
	}
	return cfg, nil
}

// example is a directory of --examples-dir with its coldtrace.json.
type example struct {
	dir string
	cfg registry.Config
}

// deployExamples deploys every subdirectory of dir that has a
// coldtrace.json, through the gateway like `coldtrace fn deploy`; the
// quick ones first, so that a tour can start while Go compiles. An example
// already deployed (by an earlier start on the same data directory) is
// kept: deploying it again made a new version at every restart, which
// split its figures across versions and cold-started its instances.
func deployExamples(ctx context.Context, gatewayURL, dir string, opts []client.Option, log *slog.Logger) {
	examples, err := loadExamples(dir, log)
	if err != nil {
		log.Error("--examples: cannot read the examples directory (run coldtrace from the repository root or set --examples-dir)", "dir", dir, "err", err)
		return
	}
	c, err := client.New(gatewayURL, opts...)
	if err != nil {
		log.Error("--examples", "err", err)
		return
	}
	deployed := 0
	for i, ex := range examples {
		if cur, err := c.Get(ctx, ex.cfg.Name); err == nil {
			log.Info("example already deployed, kept (coldtrace fn deploy DIR deploys it again)", "function", cur.Name, "version", cur.Version, "dir", ex.dir)
			deployed++
			continue
		}
		log.Info("deploying example", "function", ex.cfg.Name, "runtime", ex.cfg.Runtime, "progress", fmt.Sprintf("%d/%d", i+1, len(examples)))
		dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		info, err := c.Deploy(dctx, ex.cfg, ex.dir, slogWriter{log, ex.dir})
		cancel()
		if err != nil {
			log.Error("--examples: deploy failed", "function", ex.cfg.Name, "dir", ex.dir, "err", err)
			continue
		}
		deployed++
		log.Info("example deployed", "function", info.Name, "runtime", info.Runtime, "url", info.URL)
	}
	log.Info("examples ready", "deployed", deployed, "failed", len(examples)-deployed)
}

// loadExamples reads the examples of dir in deploy order: by how long
// their deploy may take (provided builds with go build, nodejs20 may run
// npm), then by name.
func loadExamples(dir string, log *slog.Logger) ([]example, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var examples []example
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		fnDir := filepath.Join(dir, e.Name())
		cfg, ok, err := client.LoadDirConfig(fnDir)
		if err != nil {
			log.Error("--examples: bad example configuration", "dir", fnDir, "err", err)
			continue
		}
		if !ok {
			continue
		}
		if cfg.Name == "" {
			cfg.Name = e.Name()
		}
		examples = append(examples, example{fnDir, cfg})
	}
	deployCost := func(name registry.Runtime) int {
		rt, _ := registry.ParseRuntime(string(name))
		switch rt {
		case registry.Provided:
			return 2
		case registry.NodeJS20:
			return 1
		}
		return 0
	}
	sort.Slice(examples, func(i, j int) bool {
		ci, cj := deployCost(examples[i].cfg.Runtime), deployCost(examples[j].cfg.Runtime)
		if ci != cj {
			return ci < cj
		}
		return examples[i].cfg.Name < examples[j].cfg.Name
	})
	return examples, nil
}

// slogWriter logs build output line by line.
type slogWriter struct {
	log *slog.Logger
	dir string
}

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Info("build: "+string(trimNewline(p)), "dir", w.dir)
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// runtimeRoleOptions are the flags of 'coldtrace runtime'.
type runtimeRoleOptions struct {
	runtime      runtimeOptions
	security     securityOptions
	admin        admin
	otlpEndpoint string
	lifecycle    lifecycle
}

func newRuntimeCommand() *cobra.Command {
	o := &runtimeRoleOptions{}
	cmd := roleCommand("runtime", "Run only the function runtime (gateway, instances), exporting spans over OTLP",
		`Run the function runtime role: the gateway on --gateway-addr (HTTP trigger
/fn/{name}/*, Lambda Invoke API, /api/v1/functions) and the function
instances. Spans go to --otlp-endpoint, a coldtrace collector or any other
OTLP/HTTP receiver; without it, nothing is traced.`,
		func(ctx context.Context, log *slog.Logger) error {
			if err := o.security.load(); err != nil {
				return err
			}
			o.runtime.security = &o.security
			o.admin.security = &o.security
			o.runtime.admin = &o.admin
			// Bound first: the runtime says it is up once it is, and it
			// runs instances and scheduled functions from then on.
			stopAdmin, err := o.admin.serve(ctx, log)
			if err != nil {
				return err
			}
			o.lifecycle.started(stopAdmin)
			stop, err := startRuntime(ctx, &o.runtime, o.otlpEndpoint, false, log)
			if err == nil {
				o.lifecycle.started(stop)
			}
			return o.lifecycle.runUntilDone(ctx, log, err)
		})
	fs := cmd.Flags()
	fs.String("data-dir", server.DefaultConfig().DataDir, "directory for the function registry, function code and the async queue")
	o.runtime.register(fs, "127.0.0.1")
	o.security.register(fs, "the function gateway and the admin endpoints (/metrics)")
	o.admin.register(fs, "127.0.0.1")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "OTLP/HTTP base URL spans are sent to, e.g. http://127.0.0.1:4318 (empty: no tracing)")
	o.lifecycle.register(fs, "invocations under way may take to finish")
	return cmd
}
