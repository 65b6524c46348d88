package plugin

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestTUIAvailableNeedsATerminal(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	if tuiAvailable(streams) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	streams.Out = f
	if tuiAvailable(streams) {
		t.Error("a regular file is not a terminal")
	}
}
