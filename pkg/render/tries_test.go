package render

import (
	"strings"
	"testing"
	"time"
)

func TestTaskFileRetries(t *testing.T) {
	head := "apiVersion: " + APIVersion + "\nkind: " + Kind + "\nname: job\nimage: x\n"
	task, err := ParseTaskFile("t", []byte(head+"retries: 3\nretry_delay: \"90s\"\nretry_exponential_backoff: true\nmax_retry_delay: 600\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Complete(); err != nil {
		t.Fatal(err)
	}
	if task.Retries != 3 || task.RetryDelayOrDefault() != 90*time.Second || !task.RetryExponentialBackoff || task.MaxRetryDelayOrZero() != 10*time.Minute {
		t.Fatalf("task %+v", task)
	}
	// The fields survive templating, which round-trips the task through JSON.
	pod, err := Render(task, Options{})
	if err != nil || pod == nil {
		t.Fatalf("render: %v", err)
	}
	plain, err := ParseTaskFile("t", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if plain.RetryDelayOrDefault() != DefaultRetryDelay {
		t.Errorf("default retry_delay %s, want Airflow's %s", plain.RetryDelayOrDefault(), DefaultRetryDelay)
	}
	for body, want := range map[string]string{
		"retries: -1\n":       "retries",
		"retry_delay: soon\n": "retry_delay",
		"retry_delay: -5\n":   "retry_delay",
	} {
		task, err := ParseTaskFile("t", []byte(head+body))
		if err == nil {
			err = task.Complete()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one naming %s", body, err, want)
		}
	}
}

func TestForTryAndMapIndex(t *testing.T) {
	task := &Task{Name: "job", Image: "x"}
	pod, err := Render(task, Options{NameSuffix: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	first, second := ForTry(pod, 1), ForTry(pod, 2)
	if first.Name != pod.Name || first.Labels[LabelTryNumber] != "1" || first.Annotations[AnnotationTryNumber] != "1" {
		t.Errorf("try 1: %s %v", first.Name, first.Labels)
	}
	if second.Name != pod.Name+"-try2" || second.Labels[LabelTryNumber] != "2" {
		t.Errorf("try 2: %s %v", second.Name, second.Labels)
	}
	if _, ok := pod.Labels[LabelTryNumber]; ok {
		t.Error("ForTry changed the pod it was given")
	}
	if n := tryName(strings.Repeat("a", 63), 12); len(n) > 63 || !strings.HasSuffix(n, "-try12") {
		t.Errorf("long name for try 12: %q", n)
	}
	SetMapIndex(pod, 7)
	if pod.Labels[LabelMapIndex] != "7" || pod.Annotations[AnnotationMapIndex] != "7" {
		t.Errorf("map index: %v %v", pod.Labels, pod.Annotations)
	}
}
