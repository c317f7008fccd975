package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ValidateCode checks that the code in dir has what cfg's runtime will
// start: the handler's file, or an executable bootstrap.
func ValidateCode(cfg Config, dir string) error {
	switch cfg.Runtime {
	case Provided:
		st, err := os.Stat(filepath.Join(dir, "bootstrap"))
		if err != nil {
			return fmt.Errorf("runtime provided: the code has no executable named bootstrap at its top level")
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("runtime provided: bootstrap is not an executable file (mode %s)", st.Mode())
		}
		return nil
	case NodeJS20:
		module, _, err := splitHandler(cfg.Handler)
		if err != nil {
			return err
		}
		for _, ext := range []string{".js", ".mjs", ".cjs"} {
			if fileExists(filepath.Join(dir, module+ext)) {
				return nil
			}
		}
		return fmt.Errorf("handler %q: the code has no %s.js, %s.mjs or %s.cjs", cfg.Handler, module, module, module)
	case Python311:
		module, _, err := splitHandler(cfg.Handler)
		if err != nil {
			return err
		}
		// Python modules are dotted paths: pkg.mod.handler is pkg/mod.py.
		path := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(module, ".", "/")))
		if fileExists(path+".py") || fileExists(filepath.Join(path, "__init__.py")) {
			return nil
		}
		return fmt.Errorf("handler %q: the code has no %s.py", cfg.Handler, strings.ReplaceAll(module, ".", "/"))
	}
	return fmt.Errorf("unknown runtime %q", cfg.Runtime)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
