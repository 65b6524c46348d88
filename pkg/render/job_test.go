package render

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// itemPods renders one pod per item as run --each does.
func itemPods(t *testing.T, task *Task, items []map[string]string) []*corev1.Pod {
	t.Helper()
	out := make([]*corev1.Pod, len(items))
	for i, item := range items {
		tt := *task
		tt.Params = maps.Clone(task.Params)
		if tt.Params == nil {
			tt.Params = map[string]string{}
		}
		maps.Copy(tt.Params, item)
		p, err := Render(&tt, Options{DefaultNamespace: "default", RunID: "20261202t000000-abcdef"})
		if err != nil {
			t.Fatal(err)
		}
		SetMapIndex(p, i)
		out[i] = p
	}
	return out
}

func TestBuildJobIndexedItems(t *testing.T) {
	task := &Task{Name: "daily", Image: "busybox:1.35", Cmds: []string{"sh", "-c"},
		Arguments: []string{"echo {{ .params.day }}; echo it's"}, XCom: XComTerminationMessage,
		EnvVars: EnvVars{{Name: "DAY", Value: "{{ .params.day }}"}, {Name: "FIXED", Value: "x"}}}
	items := []map[string]string{{"day": "mon"}, {"day": "tue"}, {"day": "wed"}}
	pods := itemPods(t, task, items)
	ttl := int32(600)
	job, cm, err := BuildJob(JobInput{Pods: pods, Params: items, Items: true, Parallelism: 2, Retries: 3,
		BaseContainer: "base", Fields: JobFields{TTLSecondsAfterFinished: &ttl, OnKillPropagationPolicy: "Background"}})
	if err != nil {
		t.Fatal(err)
	}
	s := job.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 3 || *s.Parallelism != 2 ||
		*s.BackoffLimitPerIndex != 3 || s.MaxFailedIndexes != nil || *s.TTLSecondsAfterFinished != 600 {
		t.Fatalf("spec: %+v", s)
	}
	if !strings.HasPrefix(job.Name, "job-daily-") || len(job.Name) > 63 || cm.Name != job.Name {
		t.Fatalf("names: job %q, config map %q", job.Name, cm.Name)
	}
	for _, l := range []map[string]string{job.Labels, s.Template.Labels} {
		if l[LabelRunID] != "20261202t000000-abcdef" || l[LabelTask] != "daily" || l[LabelManagedBy] != ManagedByValue {
			t.Fatalf("labels: %v", l)
		}
	}
	if _, ok := s.Template.Labels[LabelMapIndex]; ok {
		t.Fatal("the template keeps a map index")
	}
	if job.Annotations[AnnotationJobItems] != "3" || job.Annotations[AnnotationJobPropagation] != "Background" || s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("annotations %v, restart policy %s", job.Annotations, s.Template.Spec.RestartPolicy)
	}
	base := s.Template.Spec.Containers[0]
	want := "1)\n# item 1\nexport DAY='tue'\nexec 'sh' '-c' 'echo tue; echo it'\\''s'\n;;\n"
	if base.Command[0] != "/bin/sh" || !strings.Contains(base.Command[2], want) || base.Args != nil || base.TerminationMessagePath != XComResultPath {
		t.Fatalf("base container: %+v", base)
	}
	if len(base.Env) != 1 || base.Env[0].Name != "FIXED" {
		t.Fatalf("env left in the template: %v", base.Env)
	}
	if len(cm.Data) != 1 || JobMountsItems(job, cm) {
		t.Fatalf("small items are not inline: %v", cm.Data)
	}
	var params []map[string]string
	if err := json.Unmarshal([]byte(cm.Data[JobParamsKey]), &params); err != nil || len(params) != 3 || params[2]["day"] != "wed" {
		t.Fatalf("params: %v %v", params, err)
	}
}

func TestBuildJobManyItemsGoInTheConfigMap(t *testing.T) {
	task := &Task{Name: "many", Image: "busybox:1.35", Cmds: []string{"sh", "-c"}, Arguments: []string{strings.Repeat("x", 200) + " {{ .params.i }}"}}
	var items []map[string]string
	for i := range 200 {
		items = append(items, map[string]string{"i": strings.Repeat("y", i%7) + "z"})
	}
	job, cm, err := BuildJob(JobInput{Pods: itemPods(t, task, items), Params: items, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	base := job.Spec.Template.Spec.Containers[0]
	if !JobMountsItems(job, cm) || len(cm.Data) != 201 || !strings.Contains(base.Command[2], JobItemsPath) {
		t.Fatalf("command %q, %d keys", base.Command, len(cm.Data))
	}
	if !strings.HasSuffix(cm.Data["199"], " 'sh' '-c' '"+strings.Repeat("x", 200)+" yyyz'\n") {
		t.Fatalf("index 199: %q", cm.Data["199"])
	}
}

func TestBuildJobSameItemsNeedNoFiles(t *testing.T) {
	task := &Task{Name: "same", Image: "busybox:1.35", Cmds: []string{"true"}}
	items := []map[string]string{{"a": "1"}, {"a": "2"}}
	job, cm, err := BuildJob(JobInput{Pods: itemPods(t, task, items), Params: items, Items: true, FailFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 1 || job.Spec.Template.Spec.Containers[0].Command[0] != "true" || *job.Spec.MaxFailedIndexes != 0 {
		t.Fatalf("config map %v, template %+v", cm.Data, job.Spec.Template.Spec.Containers[0])
	}
}

func TestBuildJobWithoutItems(t *testing.T) {
	task := &Task{Name: "one", Image: "busybox:1.35", Cmds: []string{"true"}}
	pods := itemPods(t, task, []map[string]string{{}})
	job, cm, err := BuildJob(JobInput{Pods: pods, Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if cm != nil || job.Spec.CompletionMode != nil || *job.Spec.BackoffLimit != 2 || *job.Spec.Completions != 1 {
		t.Fatalf("job %+v, config map %v", job.Spec, cm)
	}
}

func TestBuildJobRefuses(t *testing.T) {
	yes := json.RawMessage("true")
	three := int32(3)
	for name, c := range map[string]struct {
		task   *Task
		items  []map[string]string
		fields JobFields
		want   string
	}{
		"image per item": {task: &Task{Name: "x", Image: "busybox:{{ .params.v }}", Cmds: []string{"true"}},
			items: []map[string]string{{"v": "1"}, {"v": "2"}}, want: "differs from item 0's"},
		"args without cmds": {task: &Task{Name: "x", Image: "busybox", Arguments: []string{"{{ .params.v }}"}},
			items: []map[string]string{{"v": "1"}, {"v": "2"}}, want: "comes from the image"},
		"suspend":     {task: &Task{Name: "x", Image: "busybox"}, items: []map[string]string{{}}, fields: JobFields{Suspend: yes}, want: "suspend"},
		"completions": {task: &Task{Name: "x", Image: "busybox"}, items: []map[string]string{{}, {}}, fields: JobFields{Completions: &three}, want: "completions"},
		"orphan":      {task: &Task{Name: "x", Image: "busybox"}, items: []map[string]string{{}}, fields: JobFields{OnKillPropagationPolicy: "Orphan"}, want: "Orphan"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := BuildJob(JobInput{Pods: itemPods(t, c.task, c.items), Params: c.items, Items: true, Fields: c.fields})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestJobName(t *testing.T) {
	long := strings.Repeat("a", 54) + "-k3j9x2ab"
	if n := jobName(long); len(n) > 63 || !strings.HasSuffix(n, "-k3j9x2ab") || !strings.HasPrefix(n, "job-a") {
		t.Fatalf("%q", n)
	}
	if n := jobName("daily-k3j9x2ab"); n != "job-daily-k3j9x2ab" {
		t.Fatalf("%q", n)
	}
}
