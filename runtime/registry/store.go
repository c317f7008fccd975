package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Function is a deployed function: its configuration, version and code.
type Function struct {
	Config
	// Version counts deploys of this name, starting at 1.
	Version    int       `json:"version"`
	CodeSHA256 string    `json:"codeSha256"`
	CodeSize   int64     `json:"codeSize"`
	Deployed   time.Time `json:"deployed"`
	// Incarnation tells this function apart from one deployed under the
	// same name after it was removed: a new version keeps it, a removal
	// ends it. Its queued events are tied to it, so none of them runs
	// against a later function of the same name.
	Incarnation string `json:"incarnation,omitempty"`
	// CodeDir is where the code of this version lives.
	CodeDir string `json:"-"`
}

// VersionString is the version as the Lambda environment and the
// faas.version attribute show it.
func (f *Function) VersionString() string { return strconv.Itoa(f.Version) }

// MemoryBytes is the memory limit in bytes.
func (f *Function) MemoryBytes() int64 { return int64(f.MemoryMB) << 20 }

// ErrNotFound is returned for a function that is not deployed.
var ErrNotFound = errors.New("function not found")

// Change tells subscribers about a deploy (Function set) or a removal
// (Function nil).
type Change struct {
	Name     string
	Function *Function
}

// Store keeps functions under dir: dir/NAME/function.json and
// dir/NAME/code/vN/.
type Store struct {
	dir string
	log *slog.Logger

	// deployMu serializes deploys and removals, which touch the disk.
	deployMu sync.Mutex
	mu       sync.RWMutex
	fns      map[string]*Function
	subs     []func(Change)
	// inUse counts the instances running each code directory: a version's
	// code stays until its last instance has ended, however many deploys
	// came after it.
	inUse map[string]int
}

// keepVersions is how many code versions stay on disk without an
// instance using them: the current one and the one before.
const keepVersions = 2

// Open loads the functions stored under dir, creating it if needed.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("function registry: %w", err)
	}
	s := &Store{dir: dir, log: log, fns: map[string]*Function{}, inUse: map[string]int{}}
	// Staged code of deploys interrupted by a crash is garbage.
	if err := os.RemoveAll(s.stagingDir()); err != nil {
		return nil, fmt.Errorf("function registry: %w", err)
	}
	if err := os.Mkdir(s.stagingDir(), 0o755); err != nil {
		return nil, fmt.Errorf("function registry: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("function registry: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		fn, err := s.load(e.Name())
		if err != nil {
			// One damaged entry must not keep the others from running.
			log.Warn("function registry: skipping a function that cannot be loaded", "name", e.Name(), "err", err)
			continue
		}
		if fn.Incarnation == "" {
			s.giveIncarnation(fn)
		}
		s.fns[fn.Name] = fn
	}
	return s, nil
}

func (s *Store) load(name string) (*Function, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name, "function.json"))
	if err != nil {
		return nil, err
	}
	var fn Function
	if err := json.Unmarshal(b, &fn); err != nil {
		return nil, fmt.Errorf("function.json: %w", err)
	}
	if fn.Name != name {
		return nil, fmt.Errorf("function.json names %q", fn.Name)
	}
	fn.CodeDir = s.codeDir(name, fn.Version)
	if _, err := os.Stat(fn.CodeDir); err != nil {
		return nil, fmt.Errorf("code of version %d: %w", fn.Version, err)
	}
	return &fn, nil
}

// giveIncarnation gives a function stored before incarnations existed
// one, on disk, so that it stays the same across restarts. Should that
// fail, it keeps none: its events are then told apart by name only.
func (s *Store) giveIncarnation(fn *Function) {
	fn.Incarnation = uuid.NewString()
	if err := writeJSONAtomic(filepath.Join(s.dir, fn.Name, "function.json"), fn); err != nil {
		s.log.Warn("function registry: cannot record the function's incarnation", "name", fn.Name, "err", err)
		fn.Incarnation = ""
	}
}

// stagingDir holds code being unpacked; its name cannot be a function's.
func (s *Store) stagingDir() string { return filepath.Join(s.dir, ".staging") }

func (s *Store) codeDir(name string, version int) string {
	return filepath.Join(s.dir, name, "code", "v"+strconv.Itoa(version))
}

// Subscribe calls f after every deploy and removal.
func (s *Store) Subscribe(f func(Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, f)
}

// Get returns the current version of a function.
func (s *Store) Get(name string) (*Function, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn, ok := s.fns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return fn, nil
}

// Deployed reports whether name is deployed and, if incarnation is set,
// still in that incarnation (not removed since, whatever was deployed
// under its name after).
func (s *Store) Deployed(name, incarnation string) bool {
	fn, err := s.Get(name)
	return err == nil && (incarnation == "" || fn.Incarnation == incarnation)
}

// List returns every function, by name.
func (s *Store) List() []*Function {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Function, 0, len(s.fns))
	for _, fn := range s.fns {
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Code describes a deploy's code: extract writes it into an empty
// directory.
type Code struct {
	SHA256  string
	Size    int64
	Extract func(dir string) error
}

// Deploy validates cfg and the code, stores both as the next version and
// tells subscribers. A bad configuration or code fails with every problem
// found, and leaves the current version in place.
func (s *Store) Deploy(cfg Config, code Code) (*Function, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s.deployMu.Lock()
	defer s.deployMu.Unlock()

	version, incarnation := 1, ""
	if cur, err := s.Get(cfg.Name); err == nil {
		version, incarnation = cur.Version+1, cur.Incarnation
	} else if prev, err := s.load(cfg.Name); err == nil {
		// On disk but not loaded at start: still the same function.
		version, incarnation = prev.Version+1, prev.Incarnation
	}
	if incarnation == "" {
		incarnation = uuid.NewString()
	}
	fnDir := filepath.Join(s.dir, cfg.Name)
	tmp, err := os.MkdirTemp(s.stagingDir(), cfg.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	defer os.RemoveAll(tmp)
	if err := code.Extract(tmp); err != nil {
		return nil, fmt.Errorf("deploy %s: code: %w", cfg.Name, err)
	}
	if err := ValidateCode(cfg, tmp); err != nil {
		return nil, err
	}
	dst := s.codeDir(cfg.Name, version)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	os.RemoveAll(dst) // left over from a deploy interrupted before function.json was written
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	fn := &Function{Config: cfg, Version: version, CodeSHA256: code.SHA256, CodeSize: code.Size,
		Deployed: time.Now().UTC().Truncate(time.Millisecond), Incarnation: incarnation, CodeDir: dst}
	if err := writeJSONAtomic(filepath.Join(fnDir, "function.json"), fn); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	s.pruneCode(cfg.Name, version)

	s.mu.Lock()
	s.fns[fn.Name] = fn
	subs := append([]func(Change){}, s.subs...)
	s.mu.Unlock()
	for _, f := range subs {
		f(Change{Name: fn.Name, Function: fn})
	}
	return fn, nil
}

// UseCode marks fn's code as used by one instance until release is
// called (once the instance has ended).
func (s *Store) UseCode(fn *Function) (release func()) {
	s.mu.Lock()
	s.inUse[fn.CodeDir]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.inUse[fn.CodeDir]--
			last := s.inUse[fn.CodeDir] == 0
			if last {
				delete(s.inUse, fn.CodeDir)
			}
			s.mu.Unlock()
			if last {
				s.deployMu.Lock()
				defer s.deployMu.Unlock()
				if cur, err := s.Get(fn.Name); err == nil && fn.Version <= cur.Version-keepVersions {
					s.pruneCode(fn.Name, cur.Version)
				}
			}
		})
	}
}

// pruneCode removes code versions older than the kept ones that no
// instance uses. The caller holds deployMu.
func (s *Store) pruneCode(name string, current int) {
	entries, err := os.ReadDir(filepath.Join(s.dir, name, "code"))
	if err != nil {
		return
	}
	for _, e := range entries {
		v, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "v"))
		if err == nil && v <= current-keepVersions && !s.codeInUse(s.codeDir(name, v)) {
			if err := os.RemoveAll(filepath.Join(s.dir, name, "code", e.Name())); err != nil {
				s.log.Warn("function registry: cannot remove old code", "name", name, "version", v, "err", err)
			}
		}
	}
}

func (s *Store) codeInUse(dir string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.inUse[dir] > 0
}

// Delete removes a function and its code and tells subscribers.
func (s *Store) Delete(name string) error {
	s.deployMu.Lock()
	defer s.deployMu.Unlock()
	if _, err := s.Get(name); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.fns, name)
	subs := append([]func(Change){}, s.subs...)
	s.mu.Unlock()
	// Subscribers stop the instances before their code goes away.
	for _, f := range subs {
		f(Change{Name: name})
	}
	if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
