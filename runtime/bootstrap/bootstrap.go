// Package bootstrap holds the language runtime clients shipped inside the
// binary (Node.js and Python), installs them into the data directory, and
// says how to start a function of each runtime.
package bootstrap

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/coldtrace/coldtrace/runtime/registry"
)

//go:embed node/bootstrap.js python/bootstrap.py python/coldtrace.py
var files embed.FS

// Config names the interpreters. Empty means: the system's /usr/bin one,
// else the first on PATH.
type Config struct {
	Node   string
	Python string
}

// Validate checks that given paths are absolute.
func (c Config) Validate() error {
	for name, p := range map[string]string{"node": c.Node, "python": c.Python} {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("%s interpreter %q: give an absolute path", name, p)
		}
	}
	return nil
}

// Set is an installed set of bootstraps.
type Set struct {
	dir          string
	node, python string
	nodeErr      error
	pythonErr    error
}

// Install writes the embedded bootstraps under dir and resolves the
// interpreters. A missing interpreter is reported when a function that
// needs it starts, so functions of other runtimes still run.
func Install(dir string, cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		// Rewriting an unchanged file would throw away Python's cached
		// bytecode next to it.
		if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, b) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
	if err != nil {
		return nil, fmt.Errorf("installing runtime bootstraps in %s: %w", dir, err)
	}
	s := &Set{dir: dir}
	// /usr/bin first: a version manager's shim on PATH (pyenv) is a shell
	// script that adds ~100 ms to every cold start.
	s.node, s.nodeErr = interpreter(cfg.Node, "/usr/bin/node", "node")
	s.python, s.pythonErr = interpreter(cfg.Python, "/usr/bin/python3", "python3")
	return s, nil
}

func interpreter(configured, system, name string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("%s interpreter: %w", name, err)
		}
		return configured, nil
	}
	if _, err := os.Stat(system); err == nil {
		return system, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not installed (looked for %s and on PATH)", name, system)
	}
	return filepath.Abs(p)
}

// Dir is where the bootstraps are installed (LAMBDA_RUNTIME_DIR).
func (s *Set) Dir() string { return s.dir }

// Interpreters returns the resolved interpreter paths ("" if missing).
func (s *Set) Interpreters() (node, python string) { return s.node, s.python }

// Command is how to start one instance of fn: the program, its
// arguments (argv[0] first), and environment specific to the runtime.
func (s *Set) Command(fn *registry.Function) (path string, args, env []string, err error) {
	switch fn.Runtime {
	case registry.NodeJS20:
		if s.nodeErr != nil {
			return "", nil, nil, fmt.Errorf("runtime %s: %w", fn.Runtime, s.nodeErr)
		}
		return s.node, []string{s.node, filepath.Join(s.dir, "node", "bootstrap.js")},
			[]string{"AWS_EXECUTION_ENV=AWS_Lambda_nodejs20.x", "NODE_PATH=" + filepath.Join(fn.CodeDir, "node_modules")}, nil
	case registry.Python311:
		if s.pythonErr != nil {
			return "", nil, nil, fmt.Errorf("runtime %s: %w", fn.Runtime, s.pythonErr)
		}
		return s.python, []string{s.python, filepath.Join(s.dir, "python", "bootstrap.py")},
			[]string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.11", "PYTHONUNBUFFERED=1"}, nil
	case registry.Provided:
		p := filepath.Join(fn.CodeDir, "bootstrap")
		return p, []string{p}, nil, nil
	}
	return "", nil, nil, errors.New("unknown runtime " + string(fn.Runtime))
}
