package main

// P0: what a trivial task costs above the cluster's own floor. The floor is
// the time the API shows the pod taking, from its creation to its base
// container's end (both moments as the benchmark's watch sees them); the
// overhead is the command's wall time minus that floor: start-up, render,
// create, the completion seen, cleanup and exit.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

func (b *bench) p0Overhead(ctx context.Context) error {
	var pod, kube sample
	for i := 0; i < b.n; i++ {
		for _, k := range []bool{false, true} {
			p := b.podtask("run", "--image", image, "--", "echo", "hi")
			name := ""
			if k {
				name = fmt.Sprintf("%s-p0k%d", b.id, i)
				p = b.kubectlProc("run", name, "--rm", "-i", "--restart=Never", "--image", image, "--", "echo", "hi")
				p.Stdin = strings.NewReader("")
			}
			r, err := mustRun(ctx, p)
			if err != nil {
				return err
			}
			if !strings.Contains(r.Stdout, "hi") {
				return fmt.Errorf("P0: stdout %q lacks hi; stderr: %s", tail(r.Stdout, 200), tail(r.stderrText(), 400))
			}
			if !k {
				if name = createdPod(r); name == "" {
					return fmt.Errorf("P0: no pod name in: %s", tail(r.stderrText(), 400))
				}
			}
			if _, err := b.w.waitFor(ctx, name, 5*time.Second, "seen terminated", func(s *podSeen) bool { return !s.Terminated["base"].IsZero() || !s.Terminated[name].IsZero() }); err != nil {
				return err
			}
			s := b.w.get(name)
			end := s.Terminated["base"]
			if end.IsZero() {
				end = s.Terminated[name] // kubectl run names the container after the pod
			}
			over := ms(r.Wall - end.Sub(s.Created))
			if k {
				kube = append(kube, over)
			} else {
				pod = append(pod, over)
			}
		}
	}
	med, p95 := pod.median(), pod.pct(95)
	b.rows = append(b.rows, row{
		Metric:  "P0 overhead above the cluster's floor: `run -- echo hi` wall time minus the pod's creation-to-base-end (median; p95)",
		Podtask: fmt.Sprintf("%.0f ms; p95 %.0f ms", med, p95), Kubectl: fmt.Sprintf("%.0f ms; p95 %.0f ms", kube.median(), kube.pct(95)),
		Ratio: ratio(med, kube.median()), Goal: "median ≤ 150 ms", Holds: yesNo(med <= 150), N: fmt.Sprintf("%d / %d", len(pod), len(kube)),
	})
	b.details = append(b.details, fmt.Sprintf("P0 by run (ms): podtask %s; kubectl run --rm -i %s. The floor is the time between the "+
		"benchmark's watch seeing the pod created and seeing its base container terminated; what is left of the wall time is the "+
		"command's own: start-up, render, create, the end seen, cleanup, exit.", pod.summary("%.0f", "ms"), kube.summary("%.0f", "ms")))
	return nil
}
