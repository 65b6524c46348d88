package e2e

// KubernetesPodOperator's how-to example task `k` (examples/kpo-howto-k.yaml)
// runs on the local cluster with the secrets, config maps, PVC, priority
// class and pod affinity peer it names created first, and its pod holds
// every field docs/kpo-conformance.md predicts.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	schedulingv1client "k8s.io/client-go/kubernetes/typed/scheduling/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

const zoneLabel = "failure-domain.beta.kubernetes.io/zone"

func init() {
	// TestExamples renders it: it cannot run as written here (ubuntu:16.04
	// is not in the local cluster, and it needs what TestKPOHowtoTaskK makes).
	exampleCases["kpo-howto-k.yaml"] = exampleCase{
		renderOnly: true,
		check: func(t *testing.T, stdout, stderr string) {
			var pod corev1.Pod
			if err := json.Unmarshal([]byte(stdout), &pod); err != nil {
				t.Fatal(err)
			}
			if len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[1].Secret == nil || pod.Spec.Volumes[1].Secret.SecretName != "airflow-secrets" {
				t.Errorf("volumes: %+v", pod.Spec.Volumes)
			}
			if !strings.Contains(stderr, "podtask: warning: secrets[0].key:") {
				t.Errorf("no warning for the key of the volume secret:\n%s", stderr)
			}
		},
	}
}

func TestKPOHowtoTaskK(t *testing.T) {
	e2eutil.Kubeconfig(t) // skips without a cluster
	c := e2eutil.Client(t)
	ns := e2eutil.Namespace

	// What the task names.
	ensureSecret(t, "airflow-secrets", map[string]string{"sql_alchemy_conn": "postgresql://kpo-e2e-s3cret", "other_key": "kpo-e2e-other"})
	ensureSecret(t, "airflow-secrets-2", map[string]string{"SECRET_TWO": "kpo-e2e-two"})
	ensureConfigMap(t, "test-configmap-1", map[string]string{"CM_ONE": "one"})
	ensureConfigMap(t, "test-configmap-2", map[string]string{"CM_TWO": "two"})
	ensurePVC(t, "test-volume")
	ensurePriorityClass(t, "medium")
	ensureZone(t)
	peer := startAffinityPeer(t)

	// The example with images the local cluster has: busybox for ubuntu:16.04, sh for bash.
	root := repoRootDir(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "kpo-howto-k.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer("ubuntu:16.04", busybox, "[bash, -cx]", "[sh, -cx]").Replace(string(data))
	file := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"test -f /etc/sql_conn/sql_alchemy_conn && test -f /etc/sql_conn/other_key && echo whole-secret-mounted",
		`test -n "$SQL_CONN" && echo sql-conn-set`,
		`test -n "$SECRET_TWO" && echo secret-two-set`,
		`echo "configmaps=$CM_ONE,$CM_TWO"`,
		"test -d /root/mount_file && echo pvc-mounted",
	}, "; ")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "-f", file, "-o", "json", "--on-finish-action", "keep_pod",
		"--cmds", "sh", "--cmds", "-c", "--arguments", script)
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("exit %d, no summary: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	if s.Pod != "" {
		e2eutil.CleanupPod(t, ns, s.Pod)
	}
	if code != 0 || s.Outcome != "Succeeded" {
		t.Fatalf("exit %d, outcome %q (%s)\nstderr:\n%s", code, s.Outcome, s.Reason, stderr)
	}
	for _, want := range []string{"whole-secret-mounted", "sql-conn-set", "secret-two-set", "configmaps=one,two", "pvc-mounted",
		`podtask: warning: secrets[0].key: "sql_alchemy_conn" does not apply to deploy_type volume`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, secret := range []string{"kpo-e2e-s3cret", "kpo-e2e-other", "kpo-e2e-two"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("a secret value (%q) appears in the output", secret)
		}
	}

	gctx, gcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer gcancel()
	pod, err := c.Pods(ns).Get(gctx, s.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkHowtoPod(t, pod, peer)
}

// checkHowtoPod checks the pod of task k, field by field, against the
// rules of docs/kpo-conformance.md.
func checkHowtoPod(t *testing.T, pod *corev1.Pod, peer *corev1.Pod) {
	t.Helper()
	eqf := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %#v\n want %#v", field, got, want)
		}
	}
	// names: name, '-', 8 random characters
	if !strings.HasPrefix(pod.Name, "airflow-test-pod-") || len(pod.Name) != len("airflow-test-pod-")+8 {
		t.Errorf("name %q", pod.Name)
	}
	eqf("namespace", pod.Namespace, "default")
	eqf("labels.foo", pod.Labels["foo"], "bar")
	eqf("labels managed-by", pod.Labels["app.kubernetes.io/managed-by"], "kubectl-podtask")
	sp := pod.Spec
	eqf("restartPolicy (forced)", sp.RestartPolicy, corev1.RestartPolicyNever)
	eqf("hostNetwork", sp.HostNetwork, false)
	eqf("priorityClassName", sp.PriorityClassName, "medium")
	if sp.Priority == nil || *sp.Priority != 1000 {
		t.Errorf("priority %v: the class medium was not used", sp.Priority)
	}
	if sp.NodeName != peer.Spec.NodeName {
		t.Logf("on node %s, the peer on %s (same zone)", sp.NodeName, peer.Spec.NodeName)
	}
	found := false
	for _, tol := range sp.Tolerations {
		found = found || reflect.DeepEqual(tol, corev1.Toleration{Key: "key", Operator: corev1.TolerationOpEqual, Value: "value"})
	}
	if !found {
		t.Errorf("tolerations %+v lack key=value", sp.Tolerations)
	}
	eqf("affinity", sp.Affinity, &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 1, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "disktype", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}},
		PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "security", Operator: metav1.LabelSelectorOpIn, Values: []string{"S1"}}}},
			TopologyKey: zoneLabel}}},
	})

	// init containers: the task's, as given
	if len(sp.InitContainers) != 1 {
		t.Fatalf("init containers: %+v", sp.InitContainers)
	}
	ic := sp.InitContainers[0]
	eqf("initContainers[0].name", ic.Name, "init-container")
	eqf("initContainers[0].env", ic.Env, []corev1.EnvVar{{Name: "key1", Value: "value1"}, {Name: "key2", Value: "value2"}})
	eqf("initContainers[0].volumeMounts[0]", ic.VolumeMounts[0], corev1.VolumeMount{Name: "test-volume", MountPath: "/etc/foo", ReadOnly: true})

	// the base container: no XCom, so alone
	if len(sp.Containers) != 1 {
		t.Fatalf("containers: %+v", sp.Containers)
	}
	b := sp.Containers[0]
	eqf("containers[0].name (base_container_name)", b.Name, "base")
	eqf("containers[0].image", b.Image, busybox)
	eqf("containers[0].terminationMessagePolicy (forced File)", b.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
	eqf("containers[0].ports", b.Ports, []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}})
	// env: env_vars, then the env secret (its target upper-cased)
	eqf("containers[0].env", b.Env, []corev1.EnvVar{{Name: "SQL_CONN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "airflow-secrets"}, Key: "sql_alchemy_conn"}}}})
	// envFrom: env_from in order, then the all-keys secret
	eqf("containers[0].envFrom", b.EnvFrom, []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "test-configmap-1"}}},
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "test-configmap-2"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "airflow-secrets-2"}}},
	})
	// mounts: volume_mounts, then the secret volume's, read-only (the
	// server adds the service account token's last)
	if len(b.VolumeMounts) < 2 {
		t.Fatalf("volumeMounts: %+v", b.VolumeMounts)
	}
	eqf("containers[0].volumeMounts[:2]", b.VolumeMounts[:2], []corev1.VolumeMount{
		{Name: "test-volume", MountPath: "/root/mount_file", ReadOnly: true},
		{Name: "secretvol0-airflow-secrets", MountPath: "/etc/sql_conn", ReadOnly: true},
	})
	// volumes: the task's, then the secret's: the whole secret (no items)
	if len(sp.Volumes) < 2 {
		t.Fatalf("volumes: %+v", sp.Volumes)
	}
	eqf("volumes[0]", sp.Volumes[0], corev1.Volume{Name: "test-volume", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "test-volume"}}})
	eqf("volumes[1].name", sp.Volumes[1].Name, "secretvol0-airflow-secrets")
	if v := sp.Volumes[1].Secret; v == nil || v.SecretName != "airflow-secrets" || len(v.Items) != 0 {
		t.Errorf("volumes[1]: %+v", sp.Volumes[1])
	}
}

// TestKPOHowtoAffinityAsWritten: the DAG's own podAffinity (a weighted term
// under required...) is refused with the line and the field, and nothing
// is created.
func TestKPOHowtoAffinityAsWritten(t *testing.T) {
	e2eutil.Kubeconfig(t)
	root := repoRootDir(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "kpo-howto-k.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	valid := `    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchExpressions:
            - {key: security, operator: In, values: [S1]}
        topologyKey: failure-domain.beta.kubernetes.io/zone
`
	asWritten := `    requiredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          labelSelector:
            matchExpressions:
              - {key: security, operator: In, values: [S1]}
          topologyKey: failure-domain.beta.kubernetes.io/zone
`
	body := string(data)
	if !strings.Contains(body, valid) {
		t.Fatal("the example's podAffinity is not where this test looks")
	}
	body = strings.Replace(body, valid, asWritten, 1)
	line := strings.Count(body[:strings.Index(body, "      - weight: 1\n        podAffinityTerm")], "\n") + 1
	file := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	name := e2eutil.UniqueName("kpo-refused")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "-f", file, "--name", name)
	want := file + ":" + strconv.Itoa(line) + ": affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].weight: unknown field: a weighted term"
	if code != 64 || !strings.HasPrefix(strings.TrimSpace(stderr), "error: "+want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
		t.Errorf("exit %d, stderr %q; want 64 and one line %q", code, stderr, want)
	}
	if pods := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name); len(pods) != 0 {
		t.Errorf("a refused task made pods: %d", len(pods))
	}
}

// ensurePVC makes PVC name bound to a hostPath PV made for it (the local
// cluster has no provisioner), and deletes both at the end.
func ensurePVC(t *testing.T, name string) {
	t.Helper()
	c := e2eutil.Client(t)
	pvName := e2eutil.UniqueName("kpo-" + name)
	dir := filepath.Join(os.TempDir(), pvName)
	dirType := corev1.HostPathDirectoryOrCreate
	empty := ""
	size := resource.MustParse("1Mi")
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "",
			ClaimRef:                      &corev1.ObjectReference{Namespace: e2eutil.Namespace, Name: name},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType}},
		},
	}
	ensureObject(t, pvName, func(ctx context.Context) error {
		_, err := c.PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		_ = os.Remove(dir)
		return c.PersistentVolumes().Delete(ctx, pvName, metav1.DeleteOptions{})
	})
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &empty,
			VolumeName:       pvName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	ensureObject(t, name, func(ctx context.Context) error {
		_, err := c.PersistentVolumeClaims(e2eutil.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return c.PersistentVolumeClaims(e2eutil.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// ensurePriorityClass makes the priority class (value 1000) unless it
// exists, and deletes it at the end if it made it.
func ensurePriorityClass(t *testing.T, name string) {
	t.Helper()
	sc, err := schedulingv1client.NewForConfig(e2eutil.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ensureObject(t, "priorityclass/"+name, func(ctx context.Context) error {
		_, err := sc.PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: 1000}, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return sc.PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// ensureZone gives every node without one the zone label the task's pod
// affinity is keyed on, and takes it away at the end.
func ensureZone(t *testing.T) {
	t.Helper()
	c := e2eutil.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes, err := c.Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if _, ok := n.Labels[zoneLabel]; ok {
			continue
		}
		name := n.Name
		patch := func(ctx context.Context, v string) error {
			_, err := c.Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"`+zoneLabel+`":`+v+`}}}`), metav1.PatchOptions{})
			return err
		}
		if err := patch(ctx, `"podtask-e2e"`); err != nil {
			t.Fatalf("labelling node %s: %v", name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := patch(ctx, "null"); err != nil {
				t.Errorf("unlabelling node %s: %v", name, err)
			}
		})
	}
}

// startAffinityPeer runs a pod labelled security=S1, the pod the task's
// required pod affinity looks for, and waits until it is on a node.
func startAffinityPeer(t *testing.T) *corev1.Pod {
	t.Helper()
	c := e2eutil.Client(t)
	name := e2eutil.UniqueName("kpo-peer")
	zero := int64(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Pods(e2eutil.Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"security": "S1"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "peer", Image: busybox, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "600"}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	return e2eutil.WaitPod(t, e2eutil.Namespace, name, time.Minute, func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
}
