package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitBinaryIn(t *testing.T) {
	const id = "abc/def/ghi/jkl"
	write := func(t *testing.T, content string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "nook-runtime"), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	if dir := write(t, "\x7fELF..."+id+"..."); initBinaryIn(dir, id) != filepath.Join(dir, "nook-runtime") {
		t.Error("the same build was not used")
	}
	if dir := write(t, "\x7fELF...abc/def/ghi/other..."); initBinaryIn(dir, id) != "" {
		t.Error("another build was used")
	}
	if dir := write(t, strings.Repeat("x", 4096)+id); initBinaryIn(dir, id) != "" {
		t.Error("a build ID past the first page was taken for the note")
	}
	if dir := write(t, id); initBinaryIn(dir, "") != "" {
		t.Error("used with no build ID known (a nook not built by make)")
	}
	if initBinaryIn(t.TempDir(), id) != "" {
		t.Error("used a nook-runtime that is not there")
	}
}
