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
		"too large": archive(t, func(zw *zip.Writer) {
			w, _ := zw.Create("big")
			w.Write(bytes.Repeat([]byte("0"), 2<<20))
		}),
		"not a zip": []byte("this is not an archive"),
	}
	want := map[string]string{"path outside": "outside the code", "link outside": "points outside", "too large": "too large", "not a zip": "not a zip"}
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
		if _, err := os.Stat(filepath.Join(dir, "evil.txt")); err == nil {
			t.Errorf("%s: wrote outside the code directory", name)
		}
	}
}
