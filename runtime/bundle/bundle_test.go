package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZipAndExtractKeepModesAndLinks(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	os.MkdirAll(filepath.Join(src, "lib", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "lib", "deep", "data.txt"), []byte("hello"), 0o644)
	os.Symlink("lib/deep/data.txt", filepath.Join(src, "link"))
	os.MkdirAll(filepath.Join(src, ".git"), 0o755)
	os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("ref"), 0o644)

	var buf bytes.Buffer
	if err := Zip(src, &buf, nil); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := Extract(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dst, 1<<20); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dst, "bootstrap")); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("bootstrap lost its exec bit: %v %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "link")); err != nil || string(b) != "hello" {
		t.Fatalf("link: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, ".git")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".git was packed")
	}
	// A link out of the code directory is left out, by name.
	os.Symlink("/etc/passwd", filepath.Join(src, "outside"))
	var log strings.Builder
	buf.Reset()
	if err := Zip(src, &buf, &log); err != nil || !strings.Contains(log.String(), "leaving out outside: a link to /etc/passwd, outside the code directory") {
		t.Errorf("a link outside the code: %v, log %q", err, log.String())
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "outside" {
			t.Error("the link outside the code was packed")
		}
	}
}

func TestZipLeavesOutLinksThatLeaveThroughOtherLinks(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "b"), 0o755)
	os.Symlink("..", filepath.Join(src, "b", "c"))
	// By its text d stays inside (b/c/.. is b); on disk b/c is the code
	// directory, so d is its parent.
	os.Symlink("b/c/..", filepath.Join(src, "d"))
	var buf bytes.Buffer
	var log strings.Builder
	if err := Zip(src, &buf, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "leaving out d: a link to b/c/..") {
		t.Errorf("log %q does not name the link d", log.String())
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "d" {
			t.Error("the link d, leading outside the code, was packed")
		}
	}
}

func archive(t *testing.T, add func(*zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func addLink(t *testing.T, zw *zip.Writer, name, target string) {
	t.Helper()
	h := &zip.FileHeader{Name: name}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(target))
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	cases := map[string][]byte{
		"path outside": archive(t, func(zw *zip.Writer) {
			w, _ := zw.Create("../../evil.txt")
			w.Write([]byte("x"))
		}),
		"link outside": archive(t, func(zw *zip.Writer) {
			h := &zip.FileHeader{Name: "l"}
			h.SetMode(fs.ModeSymlink | 0o777)
			w, _ := zw.CreateHeader(h)
			w.Write([]byte("../../../etc/shadow"))
		}),
		// Each link stays inside by its text, but b/c -> .. makes b/c/d
		// the code directory's d, and d -> .. its parent.
		"write through links": archive(t, func(zw *zip.Writer) {
			addLink(t, zw, "b/c", "..")
			addLink(t, zw, "b/c/d", "..")
			w, _ := zw.Create("b/c/d/evil.txt")
			w.Write([]byte("x"))
		}),
		"link through links": archive(t, func(zw *zip.Writer) {
			addLink(t, zw, "d", "b/c/..")
			addLink(t, zw, "b/c", "..")
		}),
		"too large": archive(t, func(zw *zip.Writer) {
			w, _ := zw.Create("big")
			w.Write(bytes.Repeat([]byte("0"), 2<<20))
		}),
		"not a zip": []byte("this is not an archive"),
	}
	want := map[string]string{"path outside": "outside the code", "link outside": "points outside", "write through links": "path escapes", "link through links": `link "d" points outside`, "too large": "too large", "not a zip": "not a zip"}
	for name, b := range cases {
		dir := t.TempDir()
		code := filepath.Join(dir, "a", "code")
		if err := os.MkdirAll(code, 0o755); err != nil {
			t.Fatal(err)
		}
		err := Extract(bytes.NewReader(b), int64(len(b)), code, 1<<20)
		if err == nil || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, want[name])
		}
		for _, outside := range []string{filepath.Join(dir, "evil.txt"), filepath.Join(dir, "a", "evil.txt")} {
			if _, err := os.Stat(outside); err == nil {
				t.Errorf("%s: wrote %s, outside the code directory", name, outside)
			}
		}
	}
}
