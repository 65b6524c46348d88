package launch

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func mappedPods(n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		p := termMessagePod(fmt.Sprintf("t-%d", i))
		render.SetMapIndex(p, i)
		pods[i] = p
	}
	return pods
}

func countActions(c *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func TestRunMappedResultsInOrderWithinParallelism(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		i := p.Labels[render.LabelMapIndex]
		return podEnd{message: `{"item":` + i + `}`}
	})
	var mu sync.Mutex
	perItem := map[int]int{}
	res, err := e.RunMapped(ctx, mappedPods(30), Options{}, MapOptions{Parallelism: 4, Sink: func(i int, ev Event) {
		if _, ok := ev.(*PodCreated); ok {
			mu.Lock()
			perItem[i]++
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Succeeded() || string(r.Result.XCom) != `{"item":`+strconv.Itoa(i)+`}` {
			t.Fatalf("item %d: %+v err %v", i, r.Result, r.Err)
		}
		if perItem[i] != 1 {
			t.Errorf("item %d created %d times", i, perItem[i])
		}
	}
	if node.peak > 4 {
		t.Errorf("%d pods at once, want at most 4", node.peak)
	}
	if w := countActions(c, "watch", "pods"); w != 1 {
		t.Errorf("%d pod watches, want 1", w)
	}
	if w := countActions(c, "watch", "events"); w != 1 {
		t.Errorf("%d events watches, want 1", w)
	}
}

func TestRunMappedFailFastStopsTheRest(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		if p.Labels[render.LabelMapIndex] == "2" {
			return podEnd{code: 5}
		}
		return podEnd{message: `1`}
	})
	res, err := e.RunMapped(ctx, mappedPods(20), Options{}, MapOptions{Parallelism: 2, FailFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if *res[2].Result.ExitCode != 5 {
		t.Fatalf("item 2: %+v", res[2].Result)
	}
	if got := res[19].Result.Outcome; got != OutcomeSkipped {
		t.Errorf("item 19 outcome %s, want Skipped", got)
	}
	if n := len(node.pods()); n >= 20 {
		t.Errorf("%d pods created, want fewer than 20 after a failure with --fail-fast", n)
	}
	list, _ := c.CoreV1().Pods("default").List(ctx, metav1ListAll)
	if len(list.Items) != 0 {
		t.Errorf("%d pods left", len(list.Items))
	}
}

func TestRunMappedRetriesAnItem(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		if p.Labels[render.LabelMapIndex] == "1" && p.Labels[render.LabelTryNumber] == "1" {
			return podEnd{code: 1}
		}
		return podEnd{message: `0`}
	})
	res, err := e.RunMapped(ctx, mappedPods(3), Options{}, MapOptions{Parallelism: 3, Retry: RetryPolicy{Retries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[1].Succeeded() || res[1].Result.Try != 2 || res[0].Result.Try != 1 {
		t.Fatalf("item 1 %+v, item 0 %+v", res[1].Result, res[0].Result)
	}
}

var metav1ListAll = metav1.ListOptions{}
