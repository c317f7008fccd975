package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/coldtrace/coldtrace/runtime/registry"
)

// Build prepares dir for deployment with runtime rt and returns the
// directory to zip:
//   - provided with Go sources and no bootstrap: `go build` into a fresh
//     directory holding only the bootstrap executable;
//   - nodejs20 with dependencies in package.json but no node_modules:
//     `npm ci` (or `npm install` without a lock file), in place;
//   - anything else: dir as it is.
//
// Tool output goes to out. cleanup removes what Build created.
func Build(ctx context.Context, dir string, rt registry.Runtime, out io.Writer) (buildDir string, cleanup func(), err error) {
	nothing := func() {}
	switch rt {
	case registry.Provided:
		if exists(filepath.Join(dir, "bootstrap")) || !hasGoFiles(dir) {
			return dir, nothing, nil
		}
		tmp, err := os.MkdirTemp("", "coldtrace-build-")
		if err != nil {
			return "", nothing, err
		}
		cleanup := func() { os.RemoveAll(tmp) }
		fmt.Fprintf(out, "building %s with go build (runtime provided needs a bootstrap executable)\n", dir)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(tmp, "bootstrap"), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			cleanup()
			return "", nothing, fmt.Errorf("go build in %s: %w", dir, err)
		}
		return tmp, cleanup, nil
	case registry.NodeJS20:
		if exists(filepath.Join(dir, "node_modules")) || !hasNodeDependencies(dir) {
			return dir, nothing, nil
		}
		args := []string{"install", "--omit=dev", "--no-audit", "--no-fund"}
		if exists(filepath.Join(dir, "package-lock.json")) {
			args = []string{"ci", "--omit=dev", "--no-audit", "--no-fund"}
		}
		fmt.Fprintf(out, "installing the dependencies of %s with npm %s\n", dir, args[0])
		cmd := exec.CommandContext(ctx, "npm", args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return "", nothing, fmt.Errorf("npm %s in %s: %w", args[0], dir, err)
		}
	}
	return dir, nothing, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

func hasNodeDependencies(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return false
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	return json.Unmarshal(b, &pkg) == nil && len(pkg.Dependencies) > 0
}
