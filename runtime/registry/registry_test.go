package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func code(files map[string]string) Code {
	return Code{SHA256: "abc", Size: 1, Extract: func(dir string) error {
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
				return err
			}
		}
		return nil
	}}
}

func TestDeployPersistsAndBumpsVersions(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changes []Change
	s.Subscribe(func(c Change) { changes = append(changes, c) })
	cfg := Config{Name: "f", Runtime: "python3", Handler: "app.handler", Env: map[string]string{"K": "v"}}
	for v := 1; v <= 3; v++ {
		fn, err := s.Deploy(cfg, code(map[string]string{"app.py": "x"}))
		if err != nil {
			t.Fatal(err)
		}
		if fn.Version != v || fn.Runtime != Python311 || fn.MemoryMB != DefaultMemoryMB || fn.Timeout.D() != DefaultTimeout {
			t.Fatalf("deploy %d: %+v", v, fn)
		}
	}
	// The oldest code version is pruned; the current and previous stay.
	entries, _ := os.ReadDir(filepath.Join(dir, "f", "code"))
	if len(entries) != 2 {
		t.Fatalf("code versions kept: %d", len(entries))
	}
	again, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := again.Get("f")
	if err != nil || fn.Version != 3 || fn.Env["K"] != "v" || !strings.HasSuffix(fn.CodeDir, "v3") {
		t.Fatalf("after reopening: %+v %v", fn, err)
	}
	if err := s.Delete("f"); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 4 || changes[3].Function != nil {
		t.Fatalf("changes %+v", changes)
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); !os.IsNotExist(err) {
		t.Fatal("deleted function's files remain")
	}
}

// An instance still running an old version keeps that version's code,
// however many deploys come after it; the code goes once it ends.
func TestCodeInUseOutlivesDeploys(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "f", Runtime: "python3", Handler: "app.handler"}
	deploy := func() *Function {
		fn, err := s.Deploy(cfg, code(map[string]string{"app.py": "x"}))
		if err != nil {
			t.Fatal(err)
		}
		return fn
	}
	versions := func() string {
		entries, _ := os.ReadDir(filepath.Join(dir, "f", "code"))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	v1 := deploy()
	release := s.UseCode(v1)
	deploy()
	deploy()
	deploy()
	if got := versions(); got != "v1 v3 v4" {
		t.Fatalf("code kept with v1 in use: %s, want v1 v3 v4", got)
	}
	release()
	release() // a second call changes nothing
	if got := versions(); got != "v3 v4" {
		t.Fatalf("code kept after v1's instance ended: %s, want v3 v4", got)
	}
}

func TestDeployRejectsBadCodeAndKeepsTheCurrentVersion(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "g", Runtime: NodeJS20, Handler: "index.handler"}
	if _, err := s.Deploy(cfg, code(map[string]string{"index.mjs": "x"})); err != nil {
		t.Fatal(err)
	}
	_, err = s.Deploy(cfg, code(map[string]string{"main.js": "x"}))
	if err == nil || !strings.Contains(err.Error(), "no index.js, index.mjs or index.cjs") {
		t.Fatalf("bad code: %v", err)
	}
	if fn, _ := s.Get("g"); fn.Version != 1 {
		t.Fatalf("a failed deploy changed the version to %d", fn.Version)
	}
	py := Config{Name: "h", Runtime: Python311, Handler: "pkg.mod.handler"}
	if _, err := s.Deploy(py, code(map[string]string{"mod.py": "x"})); err == nil || !strings.Contains(err.Error(), "pkg/mod.py") {
		t.Fatalf("python module path: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{Name: "bad name!", Runtime: "java8", MemoryMB: 1, Timeout: Duration(time.Hour), MaxInstances: 5, MinInstances: 9,
		IdleTimeout: Duration(time.Millisecond), QueueWait: Duration(time.Second), Env: map[string]string{"1X": "", "AWS_LAMBDA_RUNTIME_API": "", "AWS_REGION": "", "AWS_LAMBDA_INITIALIZATION_TYPE": "", "TZ": "Europe/Paris"},
		Schedule: "rate(x)"}.Validate()
	for _, want := range []string{"function name", "unknown runtime", "memory 1 MB", "timeout 1h0m0s", "min instances 9",
		"idle timeout", `"1X"`, "AWS_LAMBDA_RUNTIME_API is set by the runtime", "AWS_REGION is set by the runtime",
		"AWS_LAMBDA_INITIALIZATION_TYPE is set by the runtime", "schedule"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "TZ") {
		t.Errorf("TZ, which Lambda leaves to users, refused: %v", err)
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := DecodeConfig([]byte(`{"name":"a","runtime":"nodejs20","handler":"index.handler","timeout":"10s","memoryMB":256}`))
	if err != nil || cfg.Timeout.D() != 10*time.Second || cfg.MemoryMB != 256 {
		t.Fatalf("%+v %v", cfg, err)
	}
	if cfg, err := DecodeConfig([]byte(`{"timeout":2.5}`)); err != nil || cfg.Timeout.D() != 2500*time.Millisecond {
		t.Fatalf("seconds as a number: %+v %v", cfg, err)
	}
	for body, want := range map[string]string{
		`{"timeout":"0s"}`:   "timeout is zero",
		`{"memoryMB":0}`:     "memoryMB is zero",
		`{"concurrency":3}`:  "unknown field",
		`{"timeout":"soon"}`: "duration",
		`[]`:                 "cannot unmarshal",
		// A zero does not hide the other problems.
		`{"name":"a","runtime":"nodejs20","handler":"index.handler","maxInstances":0,"queueWait":"-1s"}`: "queue wait -1s",
	} {
		if _, err := DecodeConfig([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
	// What the caller fills later (the name, the runtime, the handler) is
	// not a problem yet.
	if _, err := DecodeConfig([]byte(`{"timeout":0}`)); err == nil || err.Error() != "timeout is zero: it must be more than 0 (leave it out for the default, 3s)" {
		t.Errorf("only the zero timeout is a problem: %v", err)
	}
}

// A new version keeps the function's incarnation, across a restart too;
// a removal ends it, and a function stored without one gets one that
// lasts.
func TestIncarnationOutlivesVersionsNotRemovals(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "f", Runtime: "python3", Handler: "app.handler"}
	deploy := func(s *Store) *Function {
		t.Helper()
		fn, err := s.Deploy(cfg, code(map[string]string{"app.py": "x"}))
		if err != nil {
			t.Fatal(err)
		}
		return fn
	}
	first := deploy(s)
	if first.Incarnation == "" {
		t.Fatal("a deploy gave no incarnation")
	}
	if second := deploy(s); second.Incarnation != first.Incarnation || !s.Deployed("f", first.Incarnation) {
		t.Fatalf("a new version changed the incarnation: %q, was %q", second.Incarnation, first.Incarnation)
	}
	if err := s.Delete("f"); err != nil {
		t.Fatal(err)
	}
	if s.Deployed("f", first.Incarnation) || s.Deployed("f", "") {
		t.Fatal("a removed function is still deployed")
	}
	later := deploy(s)
	if later.Incarnation == first.Incarnation || s.Deployed("f", first.Incarnation) || !s.Deployed("f", later.Incarnation) {
		t.Fatalf("deployed again after its removal, the function kept incarnation %q", later.Incarnation)
	}

	// As stored before incarnations existed.
	later.Incarnation = ""
	if err := writeJSONAtomic(filepath.Join(dir, "f", "function.json"), later); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	given, _ := reopened.Get("f")
	if given.Incarnation == "" {
		t.Fatal("a function stored without an incarnation got none")
	}
	if again, err := Open(dir, nil); err != nil || !again.Deployed("f", given.Incarnation) {
		t.Fatalf("the incarnation given at a start did not last to the next: %v", err)
	}
}
