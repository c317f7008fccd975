// Package bundle moves function code: a directory is built if it needs
// to be (a Go program into its bootstrap executable, a Node package's
// dependencies), zipped by the client, and unzipped by the host with
// every path kept inside the code directory.
package bundle

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Zip writes the directory dir as a zip archive, keeping file modes (an
// executable bootstrap stays executable) and symbolic links that point
// inside dir. .git directories are left out, and so are links that point
// outside dir (a virtualenv's bin/python, say), each named on log.
func Zip(dir string, w io.Writer, log io.Writer) error {
	zw := zip.NewWriter(w)
	root, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		switch {
		case info.IsDir():
			hdr.Name += "/"
			_, err = zw.CreateHeader(hdr)
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if !insideAfterLink(root, filepath.Dir(path), target) {
				// Said out loud: a handler that is such a link would
				// otherwise deploy as a confusing "missing" handler.
				if log != nil {
					fmt.Fprintf(log, "leaving out %s: a link to %s, outside the code directory (copy what it points to into the directory if the function needs it)\n", hdr.Name, target)
				}
				return nil
			}
			f, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			_, err = io.WriteString(f, target)
			return err
		case !info.Mode().IsRegular():
			return nil
		}
		hdr.Method = zip.Deflate
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(f, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("zipping %s: %w", dir, err)
	}
	return zw.Close()
}

// insideAfterLink reports whether a link in dir with target stays under
// root.
func insideAfterLink(root, dir, target string) bool {
	if filepath.IsAbs(target) {
		return false
	}
	p := filepath.Clean(filepath.Join(dir, target))
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// ErrTooLarge is returned when the code unpacks to more than allowed.
var ErrTooLarge = errors.New("code is too large")

// Extract unpacks a zip archive into dst (an existing, empty directory).
// Entries that would land outside dst, links that would point outside
// it, and more than maxBytes of unpacked data are refused.
func Extract(r io.ReaderAt, size int64, dst string, maxBytes int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("not a zip archive: %w", err)
	}
	root, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range zr.File {
		name := filepath.FromSlash(f.Name)
		p := filepath.Join(root, name)
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			return fmt.Errorf("archive entry %q is outside the code directory", f.Name)
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			if err := extractLink(f, root, p); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		n, err := extractFile(f, p, mode.Perm()|0o600, maxBytes-total)
		if err != nil {
			return err
		}
		total += n
	}
	return nil
}

func extractLink(f *zip.File, root, p string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return err
	}
	if !insideAfterLink(root, filepath.Dir(p), string(target)) {
		return fmt.Errorf("archive link %q points outside the code directory", f.Name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.Symlink(string(target), p)
}

func extractFile(f *zip.File, p string, perm fs.FileMode, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", f.Name, err)
	}
	if n > budget {
		return n, ErrTooLarge
	}
	return n, nil
}

// SHA256 is the hex digest of an archive, the function's code hash.
func SHA256(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
