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
	onDisk, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("zipping %s: %w", dir, err)
	}
	defer onDisk.Close()
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
			if !localLink(rel, target) || !resolvesInside(onDisk, rel) {
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

// localLink reports whether the text of a link at name (relative to the
// code directory) with target stays inside the code directory.
func localLink(name, target string) bool {
	return !filepath.IsAbs(target) && filepath.IsLocal(filepath.Join(filepath.Dir(name), target))
}

// resolvesInside reports whether the link name, followed on disk through
// every link that exists now, leads inside root or to nothing. Text alone
// cannot tell: with b/c -> .., the link b/c/d -> .. is code/d -> .., the
// parent of the code directory.
func resolvesInside(root *os.Root, name string) bool {
	_, err := root.Stat(name)
	return err == nil || errors.Is(err, fs.ErrNotExist)
}

// ErrTooLarge is returned when the code unpacks to more than allowed.
var ErrTooLarge = errors.New("code is too large")

// Extract unpacks a zip archive into dst (an existing, empty directory).
// Entries that would land outside dst, links that would point outside
// it, and more than maxBytes of unpacked data are refused.
//
// Every entry is written through an os.Root, which follows the links that
// earlier entries created on disk and refuses any path that leaves dst, so
// no write can escape by way of a link. Links are checked again once all
// entries exist, because a later link can change where an earlier one
// leads.
func Extract(r io.ReaderAt, size int64, dst string, maxBytes int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("not a zip archive: %w", err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("opening the code directory: %w", err)
	}
	defer root.Close()
	var total int64
	var links []string
	for _, f := range zr.File {
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q is outside the code directory", f.Name)
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := root.MkdirAll(name, 0o755); err != nil {
				return unwritable(f, err)
			}
			continue
		case mode&fs.ModeSymlink != 0:
			if err := extractLink(f, root, name); err != nil {
				return err
			}
			links = append(links, name)
			continue
		case !mode.IsRegular():
			continue
		}
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return unwritable(f, err)
		}
		n, err := extractFile(f, root, name, mode.Perm()|0o600, maxBytes-total)
		if err != nil {
			return err
		}
		total += n
	}
	for _, name := range links {
		if !resolvesInside(root, name) {
			return fmt.Errorf("archive link %q points outside the code directory (through other links in the archive)", filepath.ToSlash(name))
		}
	}
	return nil
}

// unwritable says which entry failed; the cause is often a link earlier
// in the archive that leads out of the code directory ("path escapes from
// parent").
func unwritable(f *zip.File, err error) error {
	return fmt.Errorf("archive entry %q cannot be written inside the code directory: %w", f.Name, err)
}

func extractLink(f *zip.File, root *os.Root, name string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return err
	}
	if !localLink(name, string(target)) {
		return fmt.Errorf("archive link %q points outside the code directory", f.Name)
	}
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return unwritable(f, err)
	}
	if err := root.Symlink(string(target), name); err != nil {
		return unwritable(f, err)
	}
	return nil
}

func extractFile(f *zip.File, root *os.Root, name string, perm fs.FileMode, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, unwritable(f, err)
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
