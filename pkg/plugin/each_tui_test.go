package plugin

import (
	"bytes"
	"strings"
	"testing"
)

func TestEachTUIIsAcceptedAndFallsBackWithoutTerminal(t *testing.T) {
	o, err := completeRun(t, "{\"day\":\"d1\"}\n{\"day\":\"d2\"}\n", "--image", "x", "--name", "job", "--tui", "--each", "-",
		"--", "echo", "{{ .params.day }}")
	if err != nil {
		t.Fatalf("--tui with --each: %v", err)
	}
	if o.eachTUI() {
		t.Fatal("the screen is used though stdout is a buffer")
	}
	if got := o.streams.ErrOut.(*bytes.Buffer).String(); !strings.Contains(got, "not a terminal; --tui falls back to plain output") {
		t.Errorf("no note about the fallback on stderr: %q", got)
	}
	o.follow.tui = false
	o.streams.ErrOut.(*bytes.Buffer).Reset()
	if o.eachTUI() || o.streams.ErrOut.(*bytes.Buffer).Len() != 0 {
		t.Error("without --tui: no screen and no note")
	}
}

func TestShortParams(t *testing.T) {
	if got := shortParams(map[string]string{"rows": "10", "day": "2026-01-01", "note": "a\nb"}); got != "day=2026-01-01 note=a b rows=10" {
		t.Errorf("shortParams = %q", got)
	}
	if got := shortParams(nil); got != "" {
		t.Errorf("shortParams(nil) = %q", got)
	}
	if n := eachTUIMemoryLimit(1000); n <= tuiMemoryLimit {
		t.Errorf("a run of 1,000 items gets the single task's heap limit (%d)", n)
	}
}
