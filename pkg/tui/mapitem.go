// One item of a mapped run as the screen knows it: where it stands (from the
// events tagged with its index), its row in the task list, and its events.

package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// maxItemEventRows bounds one item's events: a mapped run may have
// thousands of items, each keeps only its recent history.
const maxItemEventRows = 40

// itemState is what an item counts as in the counter line.
type itemState int

const (
	statePending   itemState = iota // not started yet
	stateActive                     // a try is on its way, or waits to be retried
	stateSucceeded                  // ended with exit 0
	stateFailed                     // failed, failed to start, could not be followed, deleted
	stateStopped                    // interrupted
	stateSkipped                    // never started: interrupted or --fail-fast before its turn
	stateCount
)

// mapItem is one item's state. It holds no log lines: those are in the
// item's ring (MapModel.rings), written by the engine's goroutines.
type mapItem struct {
	params     string
	pod        string
	try, tries int
	stage      launch.Stage
	phase      string
	waiting    string // a container's waiting reason (ContainerCreating, ImagePullBackOff)
	fatal      bool   // the waiting reason is one a retry does not help
	node       string
	ran        bool // a container ran: the log panel may expect lines
	start, end time.Time
	retryAt    time.Time // while waiting for the next try: when it starts
	result     *launch.Result
	err        error
	dur        time.Duration // the run's own figure, once it is over
	hasXCom    bool
	xcomValue  json.RawMessage // nil when the task wrote no result
	cleanup    *launch.Cleanup
	events     eventList
}

func newMapItem(it MapItem, tries int) mapItem {
	return mapItem{params: it.Params, pod: it.Pod, tries: tries, events: eventList{limit: maxItemEventRows}}
}

// apply folds one of the item's events in.
func (it *mapItem) apply(ev launch.Event) {
	switch ev := deref(ev).(type) {
	case launch.TryStarted:
		it.try, it.tries, it.pod = ev.Try, ev.Tries, ev.Pod
		it.retryAt, it.stage, it.phase, it.waiting, it.fatal = time.Time{}, "", "", "", false
		if it.start.IsZero() {
			it.start = ev.Time
		}
		if ev.Try > 1 {
			it.events.add(eventRow{t: ev.Time, tn: toneInfo, reason: "podtask", message: fmt.Sprintf("try %d of %d: pod/%s", ev.Try, ev.Tries, ev.Pod)})
		}
	case launch.Retrying:
		it.retryAt = ev.Time.Add(ev.Delay)
		why := strings.TrimSpace(ev.Reason + " " + ev.Message)
		if why != "" {
			why = " (" + why + ")"
		}
		it.events.add(eventRow{t: ev.Time, tn: toneWarn, reason: "podtask",
			message: fmt.Sprintf("try %d of %d failed%s: retrying in %s", ev.Try, ev.Tries, why, humanDuration(ev.Delay))})
	case launch.PodCreated:
		it.pod = ev.Pod
		if it.start.IsZero() {
			it.start = ev.Time
		}
	case launch.StageChanged:
		it.stage = ev.Stage
		it.ran = it.ran || ev.Stage == launch.StageRunning
	case launch.PodStatus:
		it.phase = ev.Phase
		it.ran = it.ran || ev.Phase == "Running" || ev.Phase == "Succeeded" || ev.Phase == "Failed"
		if ev.Node != "" {
			it.node = ev.Node
		}
		it.waiting, it.fatal = "", false
		for _, cs := range append(ev.InitContainers, ev.Containers...) {
			if cs.State == "waiting" && cs.Reason != "" {
				it.waiting, it.fatal = cs.Reason, launch.WaitingReason(cs.Reason).Bad()
				break
			}
		}
	case launch.KubeEvent:
		it.events.addKube(ev)
	case launch.Notice:
		it.events.addNotice(ev)
	case launch.XComResult:
		it.setXCom(ev.Present, ev.Value)
	case launch.Cleanup:
		c := ev
		it.cleanup = &c
		it.events.addCleanup(ev)
	case launch.Finished:
		it.result, it.end, it.retryAt = ev.Result, ev.Time, time.Time{}
		if r := ev.Result; r != nil {
			if !it.hasXCom && r.HasXCom {
				it.setXCom(true, r.XCom)
			}
			if r.Message != "" {
				tn := toneBad
				if r.Outcome == launch.OutcomeSucceeded {
					tn = toneOK
				}
				it.events.add(eventRow{t: ev.Time, tn: tn, reason: string(r.Outcome), message: r.Message})
			}
		}
	}
}

func (it *mapItem) setXCom(present bool, value json.RawMessage) {
	it.hasXCom = true
	it.xcomValue = nil
	if present && len(value) > 0 {
		it.xcomValue = value
	}
}

// finish takes the run's own result for the item once the run is over.
func (it *mapItem) finish(r launch.ItemResult) {
	if r.Result != nil {
		it.result = r.Result
		if !it.hasXCom && r.Result.HasXCom {
			it.setXCom(true, r.Result.XCom)
		}
	}
	it.err = r.Err
	if !it.start.IsZero() {
		it.dur = r.Duration
	}
	it.retryAt = time.Time{}
}

func (it *mapItem) finished() bool { return it.result != nil }

func (it *mapItem) state() itemState {
	if r := it.result; r != nil {
		switch r.Outcome {
		case launch.OutcomeSucceeded:
			if it.err == nil {
				return stateSucceeded
			}
			return stateFailed
		case launch.OutcomeSkipped:
			return stateSkipped
		case launch.OutcomeInterrupted:
			return stateStopped
		}
		return stateFailed
	}
	if it.start.IsZero() {
		return statePending
	}
	return stateActive
}

// elapsed is the item's wall time: live while it runs.
func (it *mapItem) elapsed(now time.Time) (time.Duration, bool) {
	switch {
	case it.dur > 0:
		return it.dur, true
	case it.start.IsZero():
		return 0, false
	case !it.end.IsZero():
		return max(it.end.Sub(it.start), 0), true
	case it.finished():
		return 0, false
	}
	return max(now.Sub(it.start), 0), true
}

// look is the item's state as the list shows it: icon and word, and tone.
func (it *mapItem) look(now time.Time) (string, tone) {
	if r := it.result; r != nil {
		switch it.state() {
		case stateSucceeded:
			return "✓ succeeded", toneOK
		case stateSkipped:
			return "– skipped", toneNone
		case stateStopped:
			return "■ interrupted", toneWarn
		}
		switch r.Outcome {
		case launch.OutcomeStartFailed:
			if r.Reason != "" {
				return "✗ " + r.Reason, toneBad
			}
			return "✗ failed to start", toneBad
		case launch.OutcomeError, launch.OutcomeSucceeded:
			// An exit 0 whose result could not be read is an error too.
			return "! error", toneBad
		case launch.OutcomeDeleted:
			return "✗ deleted", toneBad
		}
		return "✗ failed", toneBad
	}
	switch {
	case it.start.IsZero():
		return "· pending", toneNone
	case !it.retryAt.IsZero():
		if left := it.retryAt.Sub(now); left > 0 {
			return "↻ retry in " + humanDuration(left+time.Second-1), toneWarn
		}
		return "↻ retrying", toneWarn
	case it.fatal:
		return "✗ " + it.waiting, toneBad
	case it.stage == launch.StageCompleting || it.stage == launch.StageCleaning:
		return "● " + strings.ToLower(string(it.stage)), toneInfo
	case it.stage == launch.StageRunning || it.phase == "Running":
		return "● running", toneInfo
	case it.waiting != "":
		return "◌ " + it.waiting, toneWait
	case it.stage != "":
		return "◌ " + strings.ToLower(string(it.stage)), toneWait
	}
	return "◌ starting", toneWait
}

// exitCode is the base container's exit code, once known.
func (it *mapItem) exitCode() *int32 {
	if it.result != nil {
		return it.result.ExitCode
	}
	return nil
}
