package image

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzLoad feeds arbitrary archives to Load: it must fail cleanly or load, never panic, write outside
// the store or leave it inconsistent.
func FuzzLoad(f *testing.F) {
	s := newStore(f)
	img, err := s.Import(bytes.NewReader(tarBytes(f, entry{name: "f", body: "x"})), "seed:1", ImportOptions{})
	if err != nil {
		f.Fatal(err)
	}
	for _, format := range []string{"docker-archive", "oci-archive"} {
		var buf bytes.Buffer
		if err := s.Save(&buf, []string{"seed:1", img.ID}, format); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(tarBytes(f, entry{name: "manifest.json", body: `[{"Config":"c","Layers":["l"]}]`},
		entry{name: "c", body: `{"rootfs":{"diff_ids":["sha256:` + string(bytes.Repeat([]byte("0"), 64)) + `"]}}`},
		entry{name: "l", typ: tar.TypeSymlink, link: "c"}))
	f.Add(tarBytes(f, entry{name: "oci-layout", body: "{}"}, entry{name: "index.json", body: `{"manifests":[{}]}`}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStore(t)
		s.Load(bytes.NewReader(data))
		checkConsistent(t, s)
	})
}
