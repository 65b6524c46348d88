package tui

import (
	"encoding/json"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// A scripted mapped run: the events of each item as the engine sends them,
// tagged with the item's index, at fixed times.

func mapOpts(n, parallelism, sec int) MapOptions {
	items := make([]MapItem, n)
	for i := range items {
		items[i] = MapItem{Params: fmt.Sprintf("day=2026-01-%02d rows=%d", i+1, i*10), Pod: fmt.Sprintf("daily-%02dx7k2q", i)}
	}
	return MapOptions{
		Options:     Options{Task: "daily", OnFinishAction: launch.DeletePod, Now: fixedClock(sec)},
		RunID:       "20260314t092600-abcdef",
		Namespace:   "default",
		Parallelism: parallelism,
		Tries:       1,
		Items:       items,
	}
}

func ev(i int, e launch.Event) tea.Msg { return ItemEvent{Index: i, Event: e} }

// itemStarts is item i up to its first log line, at second s.
func itemStarts(i, s int) []tea.Msg {
	pod := fmt.Sprintf("daily-%02dx7k2q", i)
	return []tea.Msg{
		ev(i, &launch.StageChanged{At: at(s), Stage: launch.StageCreating}),
		ev(i, &launch.PodCreated{At: at(s), Pod: pod, Namespace: "default", Task: "daily", RunID: "r1"}),
		ev(i, &launch.StageChanged{At: at(s), Stage: launch.StageScheduling}),
		ev(i, &launch.KubeEvent{At: at(s), Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned default/" + pod + " to node-1", Count: 1, Last: t0.Add(time.Duration(s) * time.Second)}),
		ev(i, &launch.PodStatus{At: at(s), Phase: "Pending", Node: "node-1", Containers: []launch.ContainerStatus{{Name: "base", State: "waiting", Reason: "ContainerCreating"}}}),
		ev(i, &launch.PodStatus{At: at(s + 1), Phase: "Running", Node: "node-1", Containers: []launch.ContainerStatus{{Name: "base", State: "running", Started: t0.Add(time.Duration(s+1) * time.Second)}}}),
		ev(i, &launch.StageChanged{At: at(s + 1), Stage: launch.StageRunning}),
		ev(i, &launch.LogLine{At: at(s + 1), Container: "base", Line: fmt.Sprintf("loading 2026-01-%02d", i+1)}),
	}
}

// itemEnds is item i's end at second s: exit 0 with an XCom result, or the
// exit code given.
func itemEnds(i, s int, exit int32) []tea.Msg {
	pod := fmt.Sprintf("daily-%02dx7k2q", i)
	var out []tea.Msg
	res := &launch.Result{Pod: pod, Namespace: "default", Task: "daily", Node: "node-1", ExitCode: i32(exit), Deleted: true, Try: 1}
	if exit == 0 {
		value := json.RawMessage(fmt.Sprintf(`{"day":"2026-01-%02d","rows":%d}`, i+1, i*10))
		res.Outcome, res.Phase, res.XCom, res.HasXCom = launch.OutcomeSucceeded, "Succeeded", value, true
		out = append(out,
			ev(i, &launch.LogLine{At: at(s), Container: "base", Line: fmt.Sprintf("loaded %d rows", i*10)}),
			ev(i, &launch.StageChanged{At: at(s), Stage: launch.StageCompleting}),
			ev(i, &launch.XComResult{At: at(s), Present: true, Value: value}))
	} else {
		res.Outcome, res.Phase, res.Reason = launch.OutcomeFailed, "Failed", "Error"
		res.Message = fmt.Sprintf("container base exited with code %d (Error)", exit)
		out = append(out, ev(i, &launch.LogLine{At: at(s), Container: "base", Line: "no rows"}))
	}
	return append(out,
		ev(i, &launch.PodStatus{At: at(s), Phase: res.Phase, Node: "node-1", Containers: []launch.ContainerStatus{{Name: "base", State: "terminated", ExitCode: i32(exit)}}}),
		ev(i, &launch.StageChanged{At: at(s), Stage: launch.StageCleaning}),
		ev(i, &launch.Cleanup{At: at(s), Action: launch.DeletePod, Deleted: true, Reason: "deleted by delete_pod"}),
		ev(i, &launch.StageChanged{At: at(s), Stage: launch.StageDone}),
		ev(i, &launch.Finished{At: at(s), Result: res}))
}

// halfway: six items at parallelism 3: items 0-2 run, 3-5 wait.
func halfway() []tea.Msg {
	var out []tea.Msg
	for i := range 3 {
		out = append(out, itemStarts(i, i)...)
	}
	return out
}

// mappedRun is the whole run: item 4 fails with exit 3, the rest succeed.
func mappedRun() []tea.Msg {
	out := halfway()
	for i := range 3 {
		out = append(out, itemEnds(i, 5+i, 0)...)
		out = append(out, itemStarts(3+i, 5+i)...)
	}
	for i := 3; i < 6; i++ {
		code := int32(0)
		if i == 4 {
			code = 3
		}
		out = append(out, itemEnds(i, 10+i, code)...)
	}
	return out
}

// mapDone is what the plugin sends once RunMapped has returned.
func mapDone(n int, failed int) MapDone {
	d := MapDone{Results: make([]launch.ItemResult, n)}
	for i := range n {
		d.Results[i] = launch.ItemResult{Index: i, Duration: time.Duration(5+i) * time.Second}
		res := &launch.Result{Pod: fmt.Sprintf("daily-%02dx7k2q", i), Outcome: launch.OutcomeSucceeded, ExitCode: i32(0), Try: 1}
		if i == failed {
			res.Outcome, res.ExitCode = launch.OutcomeFailed, i32(3)
		}
		d.Results[i].Result = res
	}
	return d
}
