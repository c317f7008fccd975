package gateway

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/coldtrace/coldtrace/runtime/bundle"
	"github.com/coldtrace/coldtrace/runtime/registry"
)

func (g *Gateway) info(fn *registry.Function) FunctionInfo {
	info := FunctionInfo{Function: *fn, ARN: g.host.ARN(fn.Name), URL: g.baseURL + TriggerPath + fn.Name + "/"}
	info.Instances, _ = g.host.Stats(fn.Name)
	if next := g.scheduler.Next(fn.Name); !next.IsZero() {
		info.NextSchedule = &next
	}
	info.PendingEvents = g.queue.Pending(fn.Name)
	if dl, err := g.queue.DeadLetters(fn.Name); err == nil {
		info.DeadLetters = len(dl)
	}
	return info
}

func (g *Gateway) listFunctions(w http.ResponseWriter, _ *http.Request) {
	list := FunctionList{Functions: []FunctionInfo{}}
	for _, fn := range g.reg.List() {
		list.Functions = append(list.Functions, g.info(fn))
	}
	writeJSON(w, http.StatusOK, list)
}

// function looks up {name}, answering 404 itself when it is absent.
func (g *Gateway) function(w http.ResponseWriter, r *http.Request) (*registry.Function, bool) {
	fn, err := g.reg.Get(r.PathValue("name"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, Error{Error: err.Error()})
		return nil, false
	}
	return fn, true
}

func (g *Gateway) getFunction(w http.ResponseWriter, r *http.Request) {
	if fn, ok := g.function(w, r); ok {
		writeJSON(w, http.StatusOK, g.info(fn))
	}
}

// DeployReadTimeout bounds how long a deploy's request may take to arrive:
// as long as `coldtrace fn` waits for the gateway (--request-timeout), and
// enough for a 200 MiB code archive (Limits.CodeBytes) at 350 KB/s.
const DeployReadTimeout = 10 * time.Minute

// deployFunction serves PUT /api/v1/functions/{name}: a multipart form
// with the configuration (JSON) and the code (zip).
func (g *Gateway) deployFunction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := registry.ValidateName(name); err != nil {
		writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
		return
	}
	// The server's read timeout is sized for payloads; an archive may be
	// 200 MiB. Not every ResponseWriter has a deadline (tests' recorders).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(DeployReadTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, g.limits.CodeBytes+1<<20)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			writeJSON(w, http.StatusRequestEntityTooLarge, Error{Error: "the code archive is larger than the limit"})
			return
		}
		writeJSON(w, http.StatusBadRequest, Error{Error: "want a multipart form with fields config (JSON) and code (zip): " + err.Error()})
		return
	}
	defer func() {
		if err := r.MultipartForm.RemoveAll(); err != nil {
			g.log.Warn("gateway: removing an upload's temporary files failed", "err", err)
		}
	}()
	cfg, err := registry.DecodeConfig([]byte(r.FormValue(DeployConfigField)))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
		return
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	if cfg.Name != name {
		writeJSON(w, http.StatusBadRequest, Error{Error: "config names " + cfg.Name + " but the URL " + name})
		return
	}
	file, hdr, err := r.FormFile(DeployCodeField)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Error{Error: "code: a zip archive is required: " + err.Error()})
		return
	}
	defer file.Close()
	sum, size, err := bundle.SHA256(io.NewSectionReader(file, 0, hdr.Size))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Error{Error: "code: " + err.Error()})
		return
	}
	fn, err := g.reg.Deploy(cfg, registry.Code{SHA256: sum, Size: size, Extract: func(dir string) error {
		return bundle.Extract(file, hdr.Size, dir, g.limits.UnpackedBytes)
	}})
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
		return
	}
	g.log.Info("function deployed", "function", fn.Name, "version", fn.Version, "runtime", fn.Runtime, "code_bytes", size)
	status := http.StatusOK
	if fn.Version == 1 {
		status = http.StatusCreated
	}
	writeJSON(w, status, g.info(fn))
}

func (g *Gateway) deleteFunction(w http.ResponseWriter, r *http.Request) {
	fn, ok := g.function(w, r)
	if !ok {
		return
	}
	if err := g.reg.Delete(fn.Name); err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, registry.ErrNotFound) {
			writeJSON(w, http.StatusNotFound, Error{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusInternalServerError, Error{Error: err.Error()})
		return
	}
	g.log.Info("function removed", "function", fn.Name)
	w.WriteHeader(http.StatusNoContent)
}

func (g *Gateway) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	fn, ok := g.function(w, r)
	if !ok {
		return
	}
	dl, err := g.queue.DeadLetters(fn.Name)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, Error{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, DeadLetterList{DeadLetters: dl})
}

func (g *Gateway) purgeDeadLetters(w http.ResponseWriter, r *http.Request) {
	g.countAnswer(w, r, g.queue.Purge)
}

func (g *Gateway) redriveDeadLetters(w http.ResponseWriter, r *http.Request) {
	g.countAnswer(w, r, g.queue.Redrive)
}

func (g *Gateway) countAnswer(w http.ResponseWriter, r *http.Request, op func(string) (int, error)) {
	fn, ok := g.function(w, r)
	if !ok {
		return
	}
	n, err := op(fn.Name)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, Error{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Count{Count: n})
}
