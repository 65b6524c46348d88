package render

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzParseTaskFile: parsing never panics; an error is a one-line
// *FieldError; a task that parses either renders to a sound pod or fails
// with a *FieldError.
func FuzzParseTaskFile(f *testing.F) {
	f.Add([]byte(head + "name: a\nimage: busybox\n"))
	f.Add([]byte(head + "image: b\ndo_xcom_push: true\nenv_vars: {A: '1'}\nsecrets: [{deploy_type: volume, deploy_target: /s, secret: s}]\n"))
	f.Add([]byte(head + "image: b\nxcom_mode: termination-message\nname: '{{ .ds }}'\nparams: {a: b}\ncmds: ['{{ .params.a }}']\n"))
	f.Add([]byte(head + "image: b\ntolerations: [{key: a, bogus: 1}]\n"))
	f.Add([]byte("{\"apiVersion\": \"podtask.dev/v1alpha1\", \"kind\": \"Task\", \"image\": \"x\", \"ports\": [{\"containerPort\": 1}]}"))
	f.Add([]byte(head + "image: &a b\nname: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := ParseTaskFile("f.yaml", data)
		if err != nil {
			checkErr(t, err)
			return
		}
		pod, err := Render(task, Options{RunID: "r", Now: time.Unix(0, 0), NameSuffix: "abcdefgh"})
		if err != nil {
			checkErr(t, err)
			return
		}
		checkPod(t, pod, task)
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *FieldError: %v", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error is not one line: %q", err.Error())
	}
}

func checkPod(t *testing.T, pod *corev1.Pod, task *Task) {
	t.Helper()
	if errs := validation.IsDNS1123Label(pod.Name); len(errs) > 0 {
		t.Fatalf("pod name %q: %v", pod.Name, errs)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("restartPolicy %q", pod.Spec.RestartPolicy)
	}
	for _, k := range []string{LabelManagedBy, LabelTask, LabelRunID} {
		if errs := validation.IsValidLabelValue(pod.Labels[k]); len(errs) > 0 || pod.Labels[k] == "" {
			t.Fatalf("label %s=%q: %v", k, pod.Labels[k], errs)
		}
	}
	c := findContainer(pod.Spec.Containers, task.BaseContainerName)
	if c == nil || c.Image == "" {
		t.Fatalf("no base container with an image: %+v", pod.Spec.Containers)
	}
	if task.XCom == XComSidecar && findContainer(pod.Spec.Containers, XComSidecarName) == nil {
		t.Fatal("sidecar mode without sidecar")
	}
}

// FuzzMerge: merging never panics, never changes its inputs, and follows
// KPO's rules for the fields it concatenates and merges.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"i","env":[{"name":"A"}]}],"volumes":[{"name":"v"}]}}`),
		[]byte(`{"metadata":{"labels":{"a":"2","b":"3"}},"spec":{"containers":[{"env":[{"name":"B"}]},{"name":"x"}],"initContainers":[{"name":"i"}]}}`))
	f.Add([]byte(`{}`), []byte(`{"spec":{"hostNetwork":true,"containers":[{"ports":[{"containerPort":1}]}]}}`))
	f.Add([]byte(`{"spec":{"containers":[{},{},{}]}}`), []byte(`{"spec":{"containers":[{"name":"a"}]}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var base, client corev1.Pod
		if json.Unmarshal(a, &base) != nil || json.Unmarshal(b, &client) != nil {
			t.Skip()
		}
		bc, cc := base.DeepCopy(), client.DeepCopy()
		m := MergePods(&base, &client)
		if !reflect.DeepEqual(&base, bc) || !reflect.DeepEqual(&client, cc) {
			t.Fatal("MergePods changed an input")
		}
		if got, want := len(m.Spec.Containers), max(len(base.Spec.Containers), len(client.Spec.Containers)); got != want {
			t.Fatalf("containers: %d, want %d", got, want)
		}
		if got, want := len(m.Spec.InitContainers), len(base.Spec.InitContainers)+len(client.Spec.InitContainers); got != want {
			t.Fatalf("init containers: %d, want %d", got, want)
		}
		if got, want := len(m.Spec.Volumes), len(base.Spec.Volumes)+len(client.Spec.Volumes); got != want {
			t.Fatalf("volumes: %d, want %d", got, want)
		}
		for i := range min(len(base.Spec.Containers), len(client.Spec.Containers)) {
			bcn, ccn, mc := base.Spec.Containers[i], client.Spec.Containers[i], m.Spec.Containers[i]
			if len(mc.Env) != len(bcn.Env)+len(ccn.Env) || len(mc.VolumeMounts) != len(bcn.VolumeMounts)+len(ccn.VolumeMounts) ||
				len(mc.EnvFrom) != len(bcn.EnvFrom)+len(ccn.EnvFrom) || len(mc.Ports) != len(bcn.Ports)+len(ccn.Ports) {
				t.Fatalf("container %d: lists not concatenated", i)
			}
			want := ccn.Name
			if want == "" {
				want = bcn.Name
			}
			if mc.Name != want {
				t.Fatalf("container %d name %q, want %q", i, mc.Name, want)
			}
		}
		for k, v := range base.Labels {
			if _, inClient := client.Labels[k]; !inClient && m.Labels[k] != v {
				t.Fatalf("label %s lost", k)
			}
		}
		for k, v := range client.Labels {
			if m.Labels[k] != v {
				t.Fatalf("label %s: client's value lost", k)
			}
		}
		if client.Spec.ServiceAccountName != "" && m.Spec.ServiceAccountName != client.Spec.ServiceAccountName {
			t.Fatal("client's service account lost")
		}
		if client.Spec.ServiceAccountName == "" && m.Spec.ServiceAccountName != base.Spec.ServiceAccountName {
			t.Fatal("base's service account lost")
		}
	})
}
