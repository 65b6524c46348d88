package main

// P11: `run --each ... --as-job`, 100 trivial items at parallelism 10, its
// logs streamed and every result read, against what a kubectl user does
// for the same: `kubectl create` of an equivalent Indexed Job (the same
// completions and parallelism, the item read from JOB_COMPLETION_INDEX),
// `kubectl wait --for=condition=complete`, `kubectl logs` of every index's
// pod (one call, by the Job's label, with --prefix) and `kubectl delete job
// --wait=false`, as the plugin deletes its Job at the end. The same items as
// a mapped run of pods (`run --each`) are timed against the same baseline.
// Rounds alternate.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	p11Items       = 100
	p11Parallelism = 10
	p11Rounds      = 3
)

func (b *bench) p11Job(ctx context.Context) error {
	var items strings.Builder
	for i := range p11Items {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	// timed runs the items with the plugin (as a Job with --as-job) and
	// returns its wall time, once every item's line was printed.
	timed := func(name string, asJob ...string) (float64, error) {
		args := append([]string{"run", "-n", "default", "--name", name, "--image", image, "--each", "-",
			"--parallelism", itoa(p11Parallelism)}, asJob...)
		p := b.podtask(append(args, "--", "echo", "item {{ .params.n }}")...)
		p.Stdin = strings.NewReader(items.String())
		p.Timeout = 20 * time.Minute
		pr, err := mustRun(ctx, p)
		if err != nil {
			return 0, err
		}
		if n := strings.Count(pr.Stdout, "] item "); n != p11Items {
			return 0, fmt.Errorf("P11: run --each %s printed %d item lines, want %d", strings.Join(asJob, " "), n, p11Items)
		}
		return secs(pr.Wall), nil
	}
	var pw, ew, kw sample
	for r := range p11Rounds {
		// The same items as a mapped run of pods (run --each), against the
		// same Job baseline: the goal for mapped runs.
		ewall, err := timed(fmt.Sprintf("%s-e%d", b.id, r))
		if err != nil {
			return err
		}
		ew = append(ew, ewall)

		name := fmt.Sprintf("%s-j%d", b.id, r)
		pwall, err := timed(name, "--as-job")
		if err != nil {
			return err
		}
		pw = append(pw, pwall)

		job := name + "-k"
		manifest := fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: %s, namespace: default}
spec:
  completionMode: Indexed
  completions: %d
  parallelism: %d
  backoffLimitPerIndex: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: base
        image: %s
        command: ["sh", "-c", "echo item $JOB_COMPLETION_INDEX"]
`, job, p11Items, p11Parallelism, image)
		path := filepath.Join(b.root, "bench", "out", job+".yaml")
		if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
			return err
		}
		script := fmt.Sprintf("%[1]s create -f %[2]s >/dev/null && %[1]s wait --for=condition=complete job/%[3]s --timeout=20m >/dev/null && "+
			"%[1]s logs -l batch.kubernetes.io/job-name=%[3]s --prefix --tail=-1 --max-log-requests=%[4]d && "+
			"%[1]s delete job %[3]s --cascade=foreground --wait=false >/dev/null",
			b.kubectl, path, job, p11Items)
		k := proc{Name: "sh", Args: []string{"-c", script}, Env: b.env, Timeout: 20 * time.Minute}
		kr, err := mustRun(ctx, k)
		if err != nil {
			return err
		}
		if n := strings.Count(kr.Stdout, "item "); n != p11Items {
			return fmt.Errorf("P11: kubectl logs printed %d item lines, want %d", n, p11Items)
		}
		kw = append(kw, secs(kr.Wall))
	}
	b.rows = append(b.rows,
		row{Metric: fmt.Sprintf("P11 Job: wall time of %d trivial items at parallelism %d (`run --each --as-job` against `kubectl create` of the same Indexed Job + `kubectl wait` + `kubectl logs`)", p11Items, p11Parallelism),
			Podtask: pw.summary("%.1f", "s"), Kubectl: kw.summary("%.1f", "s"), Ratio: ratio(pw.median(), kw.median()),
			Goal: "≤ 1.0×", Holds: yesNo(kw.median() > 0 && pw.median()/kw.median() <= 1.0), N: itoa(p11Rounds)},
		row{Metric: fmt.Sprintf("P11 mapped run: wall time of %d trivial items at parallelism %d (`run --each`, pods) against the same Job + `kubectl wait` + `kubectl logs`", p11Items, p11Parallelism),
			Podtask: ew.summary("%.1f", "s"), Kubectl: kw.summary("%.1f", "s"), Ratio: ratio(ew.median(), kw.median()),
			Goal: "≤ 1.0×", Holds: yesNo(kw.median() > 0 && ew.median()/kw.median() <= 1.0), N: itoa(p11Rounds)})
	b.details = append(b.details, fmt.Sprintf("P11: podtask --as-job %v s, podtask --each %v s, kubectl %v s (alternating rounds); the plugin streams every index's log as it runs and reads every index's result, kubectl reads the logs once the Job is complete.", pw, ew, kw))
	return nil
}
