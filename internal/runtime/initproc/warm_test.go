package initproc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestSampleBootstrap: the warm-up sample decodes, with no field the types
// do not have (a typo or a rename would leave a type out of the warm-up).
func TestSampleBootstrap(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader([]byte(sampleBootstrap)))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("sample bootstrap: %v", err)
	}
	b := m.Bootstrap
	if m.Type != MsgBootstrap || b == nil || b.Spec == nil || b.Spec.Linux == nil || b.Spec.Linux.Resources == nil ||
		b.Spec.Hooks == nil || b.Seccomp == nil || b.State == nil || len(b.Spec.Mounts) != 1 {
		t.Fatalf("sample bootstrap decoded incompletely: %+v", m)
	}
}
