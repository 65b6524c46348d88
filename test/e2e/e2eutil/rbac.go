package e2eutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// PluginKubeconfigEnv names the kubeconfig the plugin runs with in e2e
// tests: a least-privilege ServiceAccount set up by SetupLeastPrivilege.
const PluginKubeconfigEnv = "PODTASK_E2E_PLUGIN_KUBECONFIG"

// PluginKubeconfig is the kubeconfig to run the plugin with: the
// least-privilege one when the suite set it up, else the admin one.
func PluginKubeconfig(t testing.TB) string {
	t.Helper()
	admin := Kubeconfig(t)
	if p := os.Getenv(PluginKubeconfigEnv); p != "" {
		return p
	}
	return admin
}

// PodtaskRules are exactly the permissions README documents for the plugin
// in a namespace.
var PodtaskRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}},
	// run -i/-it, attach -i/-it
	{APIGroups: []string{""}, Resources: []string{"pods/attach"}, Verbs: []string{"create", "get"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "watch"}},
	// run --each: the run's record (attach --run-id); run --as-job: the config map of a Job's items
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "get", "list", "update", "delete"}},
	// create-pull-secret
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get", "update"}},
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "update"}},
	// render/run --from
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get"}},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
	// run --as-job, attach job/NAME: the Job created, followed, let go and deleted (get is --from's row)
	{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "list", "watch", "patch", "delete"}},
}

// ServiceAccountKubeconfig creates (or reuses) ServiceAccount name in
// namespace ns bound to a Role with rules, and writes a kubeconfig that
// authenticates with a token of it into dir. It needs the admin kubeconfig.
func ServiceAccountKubeconfig(ctx context.Context, adminKubeconfig, ns, name string, rules []rbacv1.PolicyRule, dir string) (string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	if err != nil {
		return "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: ns}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("service account: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: rules}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cs.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
		if err != nil {
			return "", fmt.Errorf("role: %w", err)
		}
	} else if err != nil {
		return "", fmt.Errorf("role: %w", err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("role binding: %w", err)
	}
	expiry := int64((3 * time.Hour).Seconds())
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	admin, err := clientcmd.LoadFromFile(adminKubeconfig)
	if err != nil {
		return "", err
	}
	cur := admin.Contexts[admin.CurrentContext]
	if cur == nil {
		return "", fmt.Errorf("%s has no current context", adminKubeconfig)
	}
	out := clientcmdapi.NewConfig()
	out.Clusters["local"] = admin.Clusters[cur.Cluster]
	out.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	out.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: ns}
	out.CurrentContext = name
	path := filepath.Join(dir, name+".kubeconfig")
	return path, clientcmd.WriteToFile(*out, path)
}
