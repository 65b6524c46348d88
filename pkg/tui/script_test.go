package tui

import (
	"encoding/json"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// A scripted task: events as the engine would send them, at fixed times.

var t0 = time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)

func at(sec int) launch.At { return launch.At{Time: t0.Add(time.Duration(sec) * time.Second)} }

func fixedClock(sec int) func() time.Time {
	return func() time.Time { return t0.Add(time.Duration(sec) * time.Second) }
}

func i32(v int32) *int32 { return &v }

func created() []tea.Msg {
	return []tea.Msg{
		launch.StageChanged{At: at(0), Stage: launch.StageCreating},
		launch.PodCreated{At: at(0), Pod: "nightly-report-7k2xq", Namespace: "default", Task: "nightly-report", RunID: "r1"},
		launch.StageChanged{At: at(0), Stage: launch.StageScheduling},
	}
}

func scheduled() []tea.Msg {
	return append(created(),
		launch.KubeEvent{At: at(1), Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned default/nightly-report-7k2xq to node-1", Source: "default-scheduler", Count: 1, Last: t0.Add(time.Second)},
		launch.StageChanged{At: at(1), Stage: launch.StageStarting},
		launch.PodStatus{At: at(1), Phase: "Pending", Node: "node-1", Containers: []launch.ContainerStatus{
			{Name: "base", State: "waiting", Reason: "ContainerCreating"},
			{Name: "airflow-xcom-sidecar", State: "waiting", Reason: "ContainerCreating"},
		}},
	)
}

func pullFailure() []tea.Msg {
	msg := `Failed to pull image "127.0.0.1:1/missing:1.0": dial tcp 127.0.0.1:1: connect: connection refused`
	return append(scheduled(),
		launch.KubeEvent{At: at(2), Type: "Normal", Reason: "Pulling", Message: `Pulling image "127.0.0.1:1/missing:1.0"`, Count: 1, Last: t0.Add(2 * time.Second)},
		launch.KubeEvent{At: at(3), Type: "Warning", Reason: "Failed", Message: msg, Count: 1, Last: t0.Add(3 * time.Second)},
		launch.PodStatus{At: at(3), Phase: "Pending", Node: "node-1", Containers: []launch.ContainerStatus{
			{Name: "base", State: "waiting", Reason: "ImagePullBackOff", Message: `Back-off pulling image "127.0.0.1:1/missing:1.0"`},
			{Name: "airflow-xcom-sidecar", State: "running", Ready: true},
		}},
		launch.KubeEvent{At: at(9), Type: "Warning", Reason: "Failed", Message: msg, Count: 3, Last: t0.Add(9 * time.Second)},
		launch.Notice{At: at(10), Level: "warning", Message: "the image cannot be pulled; giving up"},
		launch.StageChanged{At: at(10), Stage: launch.StageCleaning},
		launch.Cleanup{At: at(11), Action: launch.DeletePod, Deleted: true, Reason: "deleted by delete_pod"},
		launch.Finished{At: at(11), Result: &launch.Result{Pod: "nightly-report-7k2xq", Namespace: "default", Outcome: launch.OutcomeStartFailed, Reason: "ImagePullBackOff", Message: `the image "127.0.0.1:1/missing:1.0" cannot be pulled`, Deleted: true}},
	)
}

func running(lines int) []tea.Msg {
	out := append(scheduled(),
		launch.KubeEvent{At: at(2), Type: "Normal", Reason: "Pulled", Message: `Container image "docker.io/library/busybox:1.35" already present on machine`, Count: 1, Last: t0.Add(2 * time.Second)},
		launch.KubeEvent{At: at(2), Type: "Normal", Reason: "Started", Message: "Started container base", Count: 1, Last: t0.Add(2 * time.Second)},
		launch.PodStatus{At: at(2), Phase: "Running", Node: "node-1", PodIP: "10.1.0.7", Containers: []launch.ContainerStatus{
			{Name: "base", State: "running", Ready: true, Started: t0.Add(2 * time.Second)},
			{Name: "airflow-xcom-sidecar", State: "running", Ready: true},
		}},
		launch.StageChanged{At: at(2), Stage: launch.StageRunning},
	)
	for i := range lines {
		out = append(out, launch.LogLine{At: at(3), Container: "base", Line: fmt.Sprintf("step %03d: processed %d rows in shard-%d", i+1, (i+1)*1000, i%4)})
	}
	return out
}

func success() []tea.Msg {
	value := json.RawMessage(`{"rows":42000,"shards":["a","b"],"ok":true,"skipped":null,"ratio":0.97}`)
	return append(running(40),
		launch.PodStatus{At: at(14), Phase: "Running", Node: "node-1", Containers: []launch.ContainerStatus{
			{Name: "base", State: "terminated", Reason: "Completed", ExitCode: i32(0)},
			{Name: "airflow-xcom-sidecar", State: "running", Ready: true},
		}},
		launch.StageChanged{At: at(14), Stage: launch.StageCompleting},
		launch.XComResult{At: at(15), Present: true, Value: value},
		launch.StageChanged{At: at(15), Stage: launch.StageCleaning},
		launch.Cleanup{At: at(16), Action: launch.DeleteSucceededPod, Deleted: true, Reason: "deleted by delete_succeeded_pod"},
		launch.StageChanged{At: at(16), Stage: launch.StageDone},
		launch.Finished{At: at(16), Result: &launch.Result{Pod: "nightly-report-7k2xq", Namespace: "default", Task: "nightly-report", Node: "node-1", Phase: "Succeeded", Outcome: launch.OutcomeSucceeded, ExitCode: i32(0), XCom: value, HasXCom: true, Deleted: true}},
	)
}

func failure() []tea.Msg {
	out := running(12)
	out = append(out,
		launch.LogLine{At: at(5), Container: "base", Line: "Traceback (most recent call last):"},
		launch.LogLine{At: at(5), Container: "base", Line: `  File "/app/report.py", line 88, in <module>`},
		launch.LogLine{At: at(5), Container: "base", Line: "KeyError: 'region'"},
		launch.PodStatus{At: at(6), Phase: "Failed", Node: "node-1", Containers: []launch.ContainerStatus{
			{Name: "base", State: "terminated", Reason: "Error", ExitCode: i32(3)},
			{Name: "airflow-xcom-sidecar", State: "terminated", Reason: "Completed", ExitCode: i32(0)},
		}},
		launch.KubeEvent{At: at(6), Type: "Warning", Reason: "BackoffLimitExceeded", Message: "container base exited with code 3", Count: 1, Last: t0.Add(6 * time.Second)},
		launch.Cleanup{At: at(7), Action: launch.KeepPod, Deleted: false, Reason: "kept by keep_pod; attach with: kubectl podtask attach nightly-report-7k2xq -n default"},
		launch.Finished{At: at(7), Result: &launch.Result{Pod: "nightly-report-7k2xq", Namespace: "default", Phase: "Failed", Outcome: launch.OutcomeFailed, Reason: "Error", Message: "container base exited with code 3", ExitCode: i32(3)}},
	)
	return out
}
