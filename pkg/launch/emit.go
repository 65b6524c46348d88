// How the tracker reports: events to the sink (nothing after Finished), the
// stages, and the pod's Kubernetes events, whose warnings are kept for
// failure messages.

package launch

import "strings"

// emit sends ev to the sink; nothing is sent after Finished.
func (t *tracker) emit(ev Event) {
	if t.opts.Sink == nil {
		return
	}
	t.sinkMu.Lock()
	defer t.sinkMu.Unlock()
	if t.finished {
		return
	}
	if _, ok := ev.(*Finished); ok {
		t.finished = true
	}
	t.opts.Sink(ev)
}

func (t *tracker) stage(s Stage) {
	if t.stageNow == s {
		return
	}
	t.stageNow = s
	t.emit(&StageChanged{At: t.at(), Stage: s})
}

func (t *tracker) finish() {
	t.stage(StageDone)
	t.emit(&Finished{At: t.at(), Result: t.result})
}

// onKubeEvent records warnings and forwards the event.
func (t *tracker) onKubeEvent(ev *KubeEvent) {
	if ev.Type == EventWarning {
		t.warnMu.Lock()
		t.warnings = append(t.warnings, ev.Reason+": "+ev.Message)
		if len(t.warnings) > 10 {
			t.warnings = t.warnings[len(t.warnings)-10:]
		}
		t.warnMu.Unlock()
	}
	t.emit(ev)
}

func (t *tracker) recentWarnings() []string {
	t.warnMu.Lock()
	defer t.warnMu.Unlock()
	return append([]string(nil), t.warnings...)
}

// missingVolumeSource reports a FailedMount warning about a secret or config
// map that does not exist; like an image pull error it may pass (the object
// may be created a moment later), so it fails after the grace period.
func (t *tracker) missingVolumeSource() (string, string) {
	for _, w := range t.recentWarnings() {
		if rest, ok := strings.CutPrefix(w, ReasonFailedMount+":"); ok && strings.Contains(rest, "not found") {
			return ReasonFailedMount, strings.TrimSpace(rest)
		}
	}
	return "", ""
}
